"""Edges a stranger probes first: error detail, NUL bytes, huge bodies, script links, explorers.

Findings 4, 6, 12 and 15 of the security review, each replayed against the real gateway and
ingest apps served by uvicorn on a loopback socket, over the real PostgreSQL and Redis.
"""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.relay import GlobalID

from gateway.app import create_app as create_gateway
from gateway.body_limit import MAX_BODY_BYTES as GATEWAY_MAX_BODY_BYTES
from gateway.config import GatewaySettings
from libs.contracts.enums import Role
from libs.contracts.response import PublishStatement
from libs.database import tables
from libs.database.engine import transaction
from libs.settings import Settings
from services.ingest.app import create_app as create_ingest
from services.ingest.body import MAX_BODY_BYTES as INGEST_MAX_BODY_BYTES
from services.ingest.config import IngestSettings
from services.ingest.tests.builders import complaint, mention
from tests import builders
from tests.builders import Tenant, make_tenant
from tests.fixtures.http import serving
from tests.fixtures.servers import Servers

# How long a refused request may take to be answered: far less than reading what was sent.
PROMPT_SECONDS = 5.0
INTROSPECTION = "{ __schema { queryType { name } types { name } } }"
TEXT_SEARCH = """
query($filter: MentionFilter) {
  mentions(first: 5, filter: $filter) { edges { node { databaseId } } }
}
"""


@pytest.fixture(autouse=True)
def no_chosen_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from a deployment where nobody set CRISISWATCH_ENV."""
    monkeypatch.delenv("CRISISWATCH_ENV", raising=False)


def gateway_settings(servers: Servers, **chosen: Any) -> GatewaySettings:
    return GatewaySettings(
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        command_timeout_seconds=1.0,
        **chosen,
    )


def ingest_settings(servers: Servers, **chosen: Any) -> IngestSettings:
    return IngestSettings(database_url=servers.database_url, redis_url=servers.redis_url, **chosen)


@asynccontextmanager
async def client_of(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http


@pytest.fixture
async def tenant(sessions: async_sessionmaker[AsyncSession]) -> Tenant:
    return await make_tenant(sessions, "edges")


def codes(body: dict[str, Any]) -> list[str | None]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


def fields(body: dict[str, Any]) -> list[str | None]:
    return [error.get("extensions", {}).get("field") for error in body.get("errors", [])]


# --- Finding 4: internal errors reach clients by default; NUL reaches the database ---------


def test_a_deployment_that_chose_nothing_is_production() -> None:
    settings = Settings()
    assert settings.crisiswatch_env == "production"
    assert not settings.is_development
    assert Settings(crisiswatch_env="development").is_development


async def test_unexpected_errors_are_masked_unless_development_is_chosen(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: object, tenant: Tenant
) -> None:
    async with transaction(sessions) as session:
        row = tables.Mention(
            organization_id=tenant.org.id,
            source="myspace",  # not a Source: building the node fails unexpectedly
            external_id="broken",
            text="坏数据",
            content_hash=uuid.uuid4().hex,
            posted_at=datetime.now(UTC),
        )
        session.add(row)
    query = {"query": "{ mentions(first: 5) { edges { node { source } } } }"}
    headers = tenant.auth(Role.VIEWER)
    async with client_of(create_gateway(gateway_settings(servers))) as http:
        default = (await http.post("/graphql", json=query, headers=headers)).json()
    chosen = gateway_settings(servers, crisiswatch_env="development")
    async with client_of(create_gateway(chosen)) as http:
        development = (await http.post("/graphql", json=query, headers=headers)).json()
    assert [error["message"] for error in default["errors"]] == ["Unexpected error."]
    assert "myspace" in development["errors"][0]["message"]


@pytest.mark.parametrize("environment", ["production", "development"])
async def test_a_nul_byte_anywhere_in_a_string_argument_is_invalid_input_not_sql(
    servers: Servers, redis: object, tenant: Tenant, environment: str
) -> None:
    """Even where errors are shown in full, a NUL never reaches a query to quote it back."""
    app = create_gateway(gateway_settings(servers, crisiswatch_env=environment))
    create = (
        "mutation($input: CreateWatchlistInput!) { createWatchlist(input: $input) { __typename } }"
    )
    attacks = [
        (TEXT_SEARCH, {"filter": {"textContains": "奶粉\x00"}}, Role.VIEWER),
        (
            '{ mentions(first: 5, filter: {textContains: "a\\u0000b"}) { edges { cursor } } }',
            {},
            Role.VIEWER,
        ),
        (
            '{ authors(first: 5, filter: {handleContains: "\\u0000"}) { edges { cursor } } }',
            {},
            Role.VIEWER,
        ),
        (TEXT_SEARCH, {"filter": {"textContains": "\ud800"}}, Role.VIEWER),
        (create, {"input": {"name": "名字", "keywords": ["好", "坏\x00"]}}, Role.ADMIN),
    ]
    expected = [
        "$filter.textContains",
        "filter.textContains",
        "filter.handleContains",
        "$filter.textContains",
        "$input.keywords[1]",
    ]
    answers = []
    async with client_of(app) as http:
        for query, variables, role in attacks:
            # json, not orjson: an unpaired surrogate is sent escaped, as any client could.
            body = json.dumps({"query": query, "variables": variables}).encode()
            response = await http.post(
                "/graphql",
                content=body,
                headers={**tenant.auth(role), "content-type": "application/json"},
            )
            answers.append(response)
    for response, field in zip(answers, expected, strict=True):
        body = response.json()
        assert body["data"] is None, body
        assert codes(body) == ["InvalidInput"], body
        assert fields(body) == [field], body
        assert "SELECT" not in response.text and "asyncpg" not in response.text


async def test_ingest_names_the_field_that_carries_a_nul_byte(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    redis: object,
    tenant: Tenant,
    data_key_text: str,
) -> None:
    settings = ingest_settings(servers, data_key=data_key_text)
    headers = tenant.auth(Role.INGEST)
    async with client_of(create_ingest(settings)) as http:
        pushed = await http.post(
            "/v1/mentions",
            json={
                "mentions": [
                    mention("nul-1", text="奶粉\x00"),
                    mention("nul-2", author={"handle": "a\x00"}),
                ]
            },
            headers=headers,
        )
        filed = await http.post("/v1/complaints", json=complaint(text="坏\x00字"), headers=headers)
    results = pushed.json()["results"]
    assert [r["status"] for r in results] == ["rejected", "rejected"]
    assert [r["errors"][0]["field"] for r in results] == [
        "mentions[0].text",
        "mentions[1].author.handle",
    ]
    assert filed.status_code == 422
    assert [e["field"] for e in filed.json()["errors"]] == ["text"]
    assert await builders.read_all(sessions, select(tables.Mention)) == []


@pytest.fixture(scope="session")
def data_key_text() -> str:
    from libs.privacy import generate_key

    return generate_key()


# --- Finding 6: bodies are limited only after they were read --------------------------------


async def _raw_request(url: str, head: str, body_chunks: list[bytes]) -> bytes:
    """Send a request head and body chunks over a raw socket; return what the server answers
    within PROMPT_SECONDS, never sending the end of a chunked body."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head.encode())
        for chunk in body_chunks:
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            await writer.drain()
        return await asyncio.wait_for(reader.read(65536), PROMPT_SECONDS)
    finally:
        writer.close()


def _head(path: str, headers: dict[str, str], framing: str) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: test", "Content-Type: application/json", framing]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return "\r\n".join(lines) + "\r\n\r\n"


def _chunks_past(limit: int, size: int = 64 * 1024) -> list[bytes]:
    """Return chunks whose bytes add up to one more than `limit`: the server must read all of
    them to pass the limit, and none beyond it is ever sent."""
    total = limit + 1
    return [b"x" * min(size, total - start) for start in range(0, total, size)]


async def test_the_gateway_refuses_a_declared_oversized_body_before_reading_it(
    servers: Servers, redis: object, tenant: Tenant
) -> None:
    app = create_gateway(gateway_settings(servers))
    async with serving(app) as url:
        framing = f"Content-Length: {25 * 1024 * 1024}"
        answer = await _raw_request(url, _head("/graphql", tenant.auth(Role.VIEWER), framing), [])
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"PayloadTooLarge" in answer


async def test_the_gateway_refuses_a_chunked_body_as_soon_as_it_passes_the_limit(
    servers: Servers, redis: object, tenant: Tenant
) -> None:
    app = create_gateway(gateway_settings(servers))
    async with serving(app) as url:
        head = _head("/graphql", tenant.auth(Role.VIEWER), "Transfer-Encoding: chunked")
        answer = await _raw_request(url, head, _chunks_past(GATEWAY_MAX_BODY_BYTES))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"PayloadTooLarge" in answer


async def test_the_gateway_still_takes_a_large_legitimate_body(
    servers: Servers, redis: object, tenant: Tenant
) -> None:
    """The largest bulk change a console sends, every character escaped, is under the limit."""
    terms = [{"term": "词" * 50, "category": "SAFETY", "weight": 0.5} for _ in range(1000)]
    change = "mutation($i: SetSensitiveTermsInput!) { setSensitiveTerms(input: $i) { __typename } }"
    payload = {
        "query": change,
        "variables": {"i": {"upsert": terms, "remove": ["词" * 50] * 1000}},
    }
    body = orjson.dumps(payload).decode().encode("ascii", "backslashreplace")
    assert len(body) < GATEWAY_MAX_BODY_BYTES
    app = create_gateway(gateway_settings(servers))
    async with client_of(app) as http:
        response = await http.post(
            "/graphql",
            content=body,
            headers={**tenant.auth(Role.VIEWER), "content-type": "application/json"},
        )
    assert response.status_code == 200, response.text[:300]


async def test_ingest_refuses_a_chunked_body_as_soon_as_it_passes_the_limit(
    servers: Servers, redis: object, tenant: Tenant, data_key_text: str
) -> None:
    app = create_ingest(ingest_settings(servers, data_key=data_key_text))
    async with serving(app) as url:
        head = _head("/v1/mentions", tenant.auth(Role.INGEST), "Transfer-Encoding: chunked")
        answer = await _raw_request(url, head, _chunks_past(INGEST_MAX_BODY_BYTES))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"application/problem+json" in answer


async def test_ingest_refuses_a_declared_oversized_body_before_reading_it(
    servers: Servers, redis: object, tenant: Tenant, data_key_text: str
) -> None:
    app = create_ingest(ingest_settings(servers, data_key=data_key_text))
    async with serving(app) as url:
        framing = f"Content-Length: {40 * 1024 * 1024}"
        answer = await _raw_request(
            url, _head("/v1/mentions", tenant.auth(Role.INGEST), framing), []
        )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


# --- Finding 12: publishStatement accepts javascript: URLs ----------------------------------

PUBLISH = """
mutation($id: ID!, $url: String!) {
  publishStatement(id: $id, url: $url, publishedAt: "2026-11-21T10:00:00Z") {
    __typename
    ... on InvalidInput { field message }
  }
}
"""


async def test_a_statement_cannot_be_published_at_a_script_url(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: object, tenant: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, tenant.org)
        incident = await builders.incident(session, tenant.org, watched)
        statement = tables.Statement(
            organization_id=tenant.org.id,
            incident_id=incident.id,
            channel="weibo",  # stored as the enum's value
            body="已下架送检。",
            status="approved",
            review_level=3,
            created_by="test",
        )
        session.add(statement)
    statement_id = str(GlobalID("Statement", str(statement.id)))
    async with client_of(create_gateway(gateway_settings(servers))) as http:
        answers = [
            (
                await http.post(
                    "/graphql",
                    json={"query": PUBLISH, "variables": {"id": statement_id, "url": url}},
                    headers=tenant.auth(Role.RESPONDER),
                )
            ).json()["data"]["publishStatement"]
            for url in (
                "javascript:alert(document.cookie)",
                " JavaScript:alert(1)",
                "data:text/html,x",
            )
        ]
    for answer in answers:
        assert answer["__typename"] == "InvalidInput", answer
        assert answer["field"] == "url"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "\tjavascript:alert(1)",
        "java\nscript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "ftp://files.example.com/a",
        "//weibo.com/a",
        "/relative/path",
        "https://",
        "http:/weibo.com",
        "https://user@/x",
        "http://[::1",
        "https://weibo.com/a b",
    ],
)
def test_only_absolute_web_links_are_published(url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        PublishStatement(
            organization_id=uuid.uuid4(),
            actor="k",
            statement_id=uuid.uuid4(),
            url=url,
            published_at=datetime.now(UTC),
        )
    assert refused.value.errors()[0]["loc"] == ("url",)


@pytest.mark.parametrize(
    "url",
    ["https://weibo.com/helan/1", "HTTP://Example.com:8080/a?b=c#d", "http://[2001:db8::1]/x"],
)
def test_web_links_are_published(url: str) -> None:
    command = PublishStatement(
        organization_id=uuid.uuid4(),
        actor="k",
        statement_id=uuid.uuid4(),
        url=url,
        published_at=datetime.now(UTC) - timedelta(minutes=1),
    )
    assert command.url == url


# --- Finding 15: GraphiQL, /docs and introspection are public everywhere --------------------


async def test_production_serves_no_explorer_and_refuses_introspection(
    servers: Servers, redis: object, tenant: Tenant, data_key_text: str
) -> None:
    async with client_of(create_gateway(gateway_settings(servers))) as http:
        ide = await http.get("/graphql", headers={"accept": "text/html"})
        docs = await http.get("/docs")
        openapi = await http.get("/openapi.json")
        introspection = (
            await http.post(
                "/graphql", json={"query": INTROSPECTION}, headers=tenant.auth(Role.ADMIN)
            )
        ).json()
        typename = (
            await http.post(
                "/graphql", json={"query": "{ __typename }"}, headers=tenant.auth(Role.VIEWER)
            )
        ).json()
    async with client_of(create_ingest(ingest_settings(servers, data_key=data_key_text))) as http:
        ingest_docs = await http.get("/docs")
        ingest_redoc = await http.get("/redoc")
        ingest_openapi = await http.get("/openapi.json")
    assert "graphiql" not in ide.text.lower()
    assert ide.status_code >= 400
    assert (docs.status_code, openapi.status_code) == (404, 404)
    assert introspection["data"] is None
    assert "introspection" in introspection["errors"][0]["message"].lower()
    assert typename["data"] == {"__typename": "Query"}
    assert (ingest_docs.status_code, ingest_redoc.status_code) == (404, 404)
    # The published contract integrators generate clients from stays readable.
    assert "/v1/mentions" in ingest_openapi.json()["paths"]


async def test_development_chosen_explicitly_serves_the_explorers(
    servers: Servers, redis: object, tenant: Tenant, data_key_text: str
) -> None:
    gateway = create_gateway(gateway_settings(servers, crisiswatch_env="development"))
    async with client_of(gateway) as http:
        ide = await http.get("/graphql")
        introspection = (
            await http.post(
                "/graphql", json={"query": INTROSPECTION}, headers=tenant.auth(Role.ADMIN)
            )
        ).json()
    ingest = create_ingest(
        ingest_settings(servers, data_key=data_key_text, crisiswatch_env="development")
    )
    async with client_of(ingest) as http:
        ingest_docs = await http.get("/docs")
    assert ide.status_code == 200 and "graphiql" in ide.text.lower()
    assert introspection["data"]["__schema"]["queryType"] == {"name": "Query"}
    assert ingest_docs.status_code == 200
