"""The gateway's REST contract as its OpenAPI document states it: readable operation ids,
every refusal as a problem document, and the headers each answer carries. GraphQL is not in
it: its contract is its schema."""

import re
from typing import Any

import pytest
from fastapi import FastAPI

from gateway.app import create_app
from gateway.config import GatewaySettings

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
BUDGET = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}
OPERATION_IDS = {
    ("get", "/healthz"): "getHealth",
    ("get", "/v1/incidents/{incident_id}/archive.json"): "getIncidentArchiveJson",
    ("get", "/v1/incidents/{incident_id}/archive.html"): "getIncidentArchiveHtml",
    ("get", "/v1/incidents/{incident_id}/review-report.html"): "getReviewReportHtml",
    ("get", "/v1/archive/signing-key"): "getArchiveSigningKey",
}
# Admitted by the gate (bearer key, budgets) like a GraphQL request.
KEYED = [route for route in OPERATION_IDS if route[1].startswith("/v1/incidents/")]
CAMEL_CASE = re.compile(r"[a-z]+(?:[A-Z][a-z0-9]*)+")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    """The document `/openapi.json` serves in development, built without serving it."""
    app: FastAPI = create_app(
        GatewaySettings(database_url="postgresql://-/-", redis_url="redis://-")
    )
    return app.openapi()


def _operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }


def test_every_rest_operation_has_a_readable_id_and_graphql_is_not_listed(
    spec: dict[str, Any],
) -> None:
    operations = _operations(spec)
    assert {route: op["operationId"] for route, op in operations.items()} == OPERATION_IDS
    for name in OPERATION_IDS.values():
        assert CAMEL_CASE.fullmatch(name), name
    assert not any(path.startswith("/graphql") for path in spec["paths"])


def test_every_refusal_is_a_problem_document(spec: dict[str, Any]) -> None:
    for (method, path), operation in _operations(spec).items():
        if path == "/healthz":
            continue  # its 503 is the readiness document, checked below
        for status, answer in operation["responses"].items():
            if status[0] in "45":
                assert answer["content"] == PROBLEM, (method, path, status)
                assert answer["description"], (method, path, status)


def test_health_answers_its_readiness_document_either_way(spec: dict[str, Any]) -> None:
    responses = spec["paths"]["/healthz"]["get"]["responses"]
    assert set(responses) == {"200", "503"}
    readiness = {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}
    assert responses["200"]["content"] == responses["503"]["content"] == readiness
    assert "security" not in spec["paths"]["/healthz"]["get"]


@pytest.mark.parametrize("route", KEYED, ids=[path for _, path in KEYED])
def test_keyed_routes_document_their_challenge_budget_and_retry_headers(
    spec: dict[str, Any], route: tuple[str, str]
) -> None:
    method, path = route
    operation = spec["paths"][path][method]
    assert operation["security"] == [{"bearerAuth": []}]
    responses = operation["responses"]
    for status, answer in responses.items():
        if status.startswith("2"):
            assert set(answer["headers"]) >= BUDGET, status
    assert BUDGET | {"Retry-After"} <= set(responses["429"]["headers"])
    assert "WWW-Authenticate" in responses["401"]["headers"]


def test_the_signing_key_is_counted_against_no_budget(spec: dict[str, Any]) -> None:
    operation = spec["paths"]["/v1/archive/signing-key"]["get"]
    assert "security" not in operation
    assert set(operation["responses"]) == {"200", "503"}
    assert "headers" not in operation["responses"]["200"]
