"""GraphQL-over-HTTP: `application/graphql-response+json` with 4xx for request errors, and
`application/json` with 200 for the clients that ask for it."""

import httpx
import pytest

from gateway.graphql_http import GRAPHQL_RESPONSE, JSON, negotiate
from libs.contracts.enums import Role
from tests.builders import Tenant

# What Apollo Client sends.
APOLLO_ACCEPT = f"{GRAPHQL_RESPONSE},{JSON};q=0.9"
INVALID = "{ noSuchField }"
UNPARSABLE = "{ incidents(first: "


async def _post(
    client: httpx.AsyncClient, headers: dict[str, str], query: str, accept: str | None
) -> httpx.Response:
    sent = {**headers, **({"Accept": accept} if accept else {})}
    return await client.post("/graphql", json={"query": query}, headers=sent)


@pytest.mark.parametrize("query", [INVALID, UNPARSABLE], ids=["validation", "parse"])
async def test_a_request_error_is_400_in_the_graphql_response_media_type(
    client: httpx.AsyncClient, acme: Tenant, query: str
) -> None:
    answer = await _post(client, acme.auth(Role.VIEWER), query, APOLLO_ACCEPT)
    assert answer.status_code == 400
    assert answer.headers["content-type"] == GRAPHQL_RESPONSE
    body = answer.json()
    assert "data" not in body
    assert body["errors"][0]["message"]


@pytest.mark.parametrize("accept", [JSON, "*/*", None])
async def test_clients_that_ask_for_json_keep_200_with_the_errors(
    client: httpx.AsyncClient, acme: Tenant, accept: str | None
) -> None:
    answer = await _post(client, acme.auth(Role.VIEWER), INVALID, accept)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == JSON
    assert answer.json()["data"] is None and answer.json()["errors"]


async def test_a_document_that_ran_is_200_even_when_a_field_failed(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    ran = await _post(client, acme.auth(Role.VIEWER), "{ __typename }", APOLLO_ACCEPT)
    failed = await _post(client, acme.auth(Role.VIEWER), "{ apiKeys { name } }", APOLLO_ACCEPT)
    assert (ran.status_code, ran.headers["content-type"]) == (200, GRAPHQL_RESPONSE)
    assert ran.json()["data"] == {"__typename": "Query"}
    # The field's error belongs to the result, not to the request.
    assert failed.status_code == 200
    assert failed.json()["errors"][0]["path"] == ["apiKeys"]


@pytest.mark.parametrize("accept", [APOLLO_ACCEPT, JSON])
async def test_a_body_that_is_not_json_is_refused_in_the_graphql_shape(
    client: httpx.AsyncClient, acme: Tenant, accept: str
) -> None:
    answer = await client.post(
        "/graphql",
        content=b"{not json",
        headers={**acme.auth(Role.VIEWER), "Content-Type": JSON, "Accept": accept},
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"] == negotiate(accept)
    assert answer.json()["errors"][0]["extensions"]["code"] == "BadRequest"


async def test_a_refused_key_is_answered_in_the_media_type_asked_for(
    client: httpx.AsyncClient,
) -> None:
    answer = await _post(client, {}, "{ __typename }", APOLLO_ACCEPT)
    assert answer.status_code == 401
    assert answer.headers["content-type"] == GRAPHQL_RESPONSE
    assert answer.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (APOLLO_ACCEPT, GRAPHQL_RESPONSE),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0.5, {JSON}", JSON),
        (f"{GRAPHQL_RESPONSE};q=0, */*", JSON),
        ("*/*", JSON),
        (JSON, JSON),
        (None, JSON),
    ],
)
def test_the_media_type_follows_the_accept_header(accept: str | None, chosen: str) -> None:
    assert negotiate(accept) == chosen
