"""The published REST contract: bearer scheme, operation ids, problem documents, headers;
and the `WWW-Authenticate` a refused key gets."""

import uuid
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Role
from services.ingest.app import create_app
from services.ingest.config import IngestSettings
from services.ingest.tests.builders import mention, serve_ingest, settings_for
from tests.builders import Tenant
from tests.fixtures.servers import Servers

PROBLEM_JSON = "application/problem+json"
# A push reads a body and takes an Idempotency-Key; a read names a row that may not exist.
PUSHED = {"401", "403", "409", "413", "422", "429", "503"}
READ = {"401", "403", "404", "422", "429", "503"}
ROUTES = {
    ("post", "/v1/mentions"): ("pushMentions", PUSHED),
    ("get", "/v1/mentions/{mention_id}"): ("getMention", READ),
    ("post", "/v1/complaints"): ("pushComplaint", PUSHED),
    ("get", "/v1/complaints/{complaint_id}"): ("getComplaint", READ),
}
ROUTE_IDS = [f"{method} {path}" for method, path in ROUTES]


@pytest.fixture(scope="module")
async def spec() -> dict[str, Any]:
    """The OpenAPI document as integrators download it (production: no explorers)."""
    app = create_app(IngestSettings(database_url="postgresql://-/-", redis_url="redis://-"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://ingest"
    ) as http:
        document: dict[str, Any] = (await http.get("/openapi.json")).json()
    return document


def test_every_v1_route_asks_for_the_bearer_key(spec: dict[str, Any]) -> None:
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for method, path in ROUTES:
        assert spec["paths"][path][method]["security"] == [{"bearerAuth": []}]
    assert "security" not in spec["paths"]["/healthz"]["get"]


def test_operations_have_readable_ids(spec: dict[str, Any]) -> None:
    ids = {
        (method, path): operation["operationId"]
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }
    assert {route: ids[route] for route in ROUTES} == {
        route: name for route, (name, _) in ROUTES.items()
    }
    assert ids["get", "/healthz"] == "getHealth"


@pytest.mark.parametrize("route", list(ROUTES), ids=ROUTE_IDS)
def test_every_problem_is_documented_as_problem_json(
    spec: dict[str, Any], route: tuple[str, str]
) -> None:
    method, path = route
    responses = spec["paths"][path][method]["responses"]
    _, statuses = ROUTES[route]
    refused = {status for status in responses if status[0] in "45"}
    assert refused == statuses
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["properties"])
    for status in refused:
        assert responses[status]["content"] == {
            PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
        }, status
        assert responses[status]["description"]


@pytest.mark.parametrize("route", list(ROUTES), ids=ROUTE_IDS)
def test_rate_limit_retry_after_and_challenge_headers_are_documented(
    spec: dict[str, Any], route: tuple[str, str]
) -> None:
    method, path = route
    responses = spec["paths"][path][method]["responses"]
    budget = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}
    for status, answer in responses.items():
        if status.startswith("2"):
            assert budget <= set(answer["headers"]), status
    assert budget | {"Retry-After"} <= set(responses["429"]["headers"])
    assert "Retry-After" in responses["503"]["headers"]
    assert "WWW-Authenticate" in responses["401"]["headers"]
    scope = responses["403"]["headers"]["WWW-Authenticate"]["description"]
    assert 'error="insufficient_scope"' in scope


def test_health_documents_its_readiness_body_on_both_answers(spec: dict[str, Any]) -> None:
    responses = spec["paths"]["/healthz"]["get"]["responses"]
    assert set(responses) == {"200", "503"}
    for status in ("200", "503"):
        [(media, body)] = responses[status]["content"].items()
        assert media == "application/json", status
        assert set(body["schema"]["required"]) == {"status", "checks"}, status


async def test_a_refused_key_is_told_how_to_authenticate(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis, tenant: Tenant
) -> None:
    async with serve_ingest(settings_for(servers)) as http:
        missing = await http.post("/v1/mentions", json={"mentions": [mention()]})
        unknown = await http.post(
            "/v1/mentions",
            json={"mentions": [mention()]},
            headers={"Authorization": "Bearer cw_" + "A" * 40},
        )
        too_weak = await http.get(f"/v1/mentions/{uuid.uuid4()}", headers=tenant.auth(Role.INGEST))
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="crisiswatch"'
    assert missing.headers["content-type"].startswith(PROBLEM_JSON)
    assert unknown.status_code == 401
    challenge = unknown.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="crisiswatch", error="invalid_token"')
    assert "error_description=" in challenge
    assert too_weak.status_code == 403
    assert 'error="insufficient_scope"' in too_weak.headers["www-authenticate"]
