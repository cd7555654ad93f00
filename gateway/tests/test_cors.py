"""A console on its own origin calls the gateway: CORS over HTTP, Origin on the WebSocket."""

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from arq.connections import ArqRedis
from websockets.exceptions import InvalidStatus

from gateway.origins import AllowedOrigins
from gateway.tests.subscription_support import Gateway, bearer, live_client, serve_gateway
from libs.contracts.enums import Role
from libs.settings import Settings
from tests.builders import Tenant

CONSOLE = "https://console.example.com"
LISTED = f"{CONSOLE},http://localhost:*"
MAX_AGE = 900


@pytest_asyncio.fixture
async def gateway(settings: Settings, redis: ArqRedis) -> AsyncIterator[Gateway]:
    """A gateway that lets the console and any local development server call it."""
    listed = settings.model_copy(
        update={"cors_allowed_origins": LISTED, "cors_max_age_seconds": MAX_AGE}
    )
    async with serve_gateway(listed) as served:
        yield served


async def _preflight(gateway: Gateway, origin: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.http_url, timeout=30) as http:
        return await http.options(
            "/graphql",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )


@pytest.mark.parametrize("origin", [CONSOLE, "http://localhost:5173", "http://localhost"])
async def test_a_preflight_from_an_allowed_origin_is_answered_and_cached(
    gateway: Gateway, origin: str
) -> None:
    answer = await _preflight(gateway, origin)
    assert answer.status_code in (200, 204), answer.text
    assert answer.headers["access-control-allow-origin"] == origin
    assert "POST" in answer.headers["access-control-allow-methods"]
    allowed_headers = answer.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers
    assert answer.headers["access-control-max-age"] == str(MAX_AGE)
    # Keys travel in a header, never in cookies: credentials stay off.
    assert "access-control-allow-credentials" not in answer.headers


@pytest.mark.parametrize(
    "origin", ["https://evil.example.com", "http://localhost.evil.com", "https://localhost:5173"]
)
async def test_a_preflight_from_another_origin_gets_no_cors_headers(
    gateway: Gateway, origin: str
) -> None:
    answer = await _preflight(gateway, origin)
    # Without Access-Control-Allow-Origin the browser sends nothing further.
    assert answer.status_code >= 400
    assert "access-control-allow-origin" not in answer.headers


async def test_an_answer_to_an_allowed_origin_is_readable_with_its_budget(
    gateway: Gateway, acme: Tenant
) -> None:
    async with httpx.AsyncClient(base_url=gateway.http_url, timeout=30) as http:
        allowed = await http.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Origin": CONSOLE, **acme.auth(Role.VIEWER)},
        )
        other = await http.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Origin": "https://evil.example.com", **acme.auth(Role.VIEWER)},
        )
        refused = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Origin": CONSOLE}
        )
    assert allowed.json()["data"] == {"__typename": "Query"}
    assert allowed.headers["access-control-allow-origin"] == CONSOLE
    exposed = allowed.headers["access-control-expose-headers"].lower()
    assert "ratelimit-remaining" in exposed and "retry-after" in exposed
    assert "access-control-allow-origin" not in other.headers
    # A refusal is readable too, so the page can say why.
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == CONSOLE


@pytest.mark.parametrize("origin", [CONSOLE, "http://localhost:3000", None])
async def test_a_websocket_from_an_allowed_origin_or_from_no_browser_connects(
    gateway: Gateway, acme: Tenant, origin: str | None
) -> None:
    headers = {"Origin": origin} if origin else None
    async with live_client(gateway.url, bearer(acme.keys[Role.VIEWER]), headers=headers) as live:
        operation = await live.subscribe("{ __typename }")
        assert await live.next_data(operation) == {"__typename": "Query"}


async def test_a_websocket_from_another_origin_is_refused_at_the_handshake(
    gateway: Gateway, acme: Tenant
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with live_client(
            gateway.url,
            bearer(acme.keys[Role.VIEWER]),
            headers={"Origin": "https://evil.example.com"},
        ):
            pass
    assert refused.value.response.status_code == 403


async def test_without_a_list_no_other_origin_is_allowed(
    settings: Settings, redis: ArqRedis, acme: Tenant
) -> None:
    async with serve_gateway(settings) as gateway:
        preflight = await _preflight(gateway, CONSOLE)
        with pytest.raises(InvalidStatus):
            async with live_client(
                gateway.url, bearer(acme.keys[Role.VIEWER]), headers={"Origin": CONSOLE}
            ):
                pass
    assert "access-control-allow-origin" not in preflight.headers


@pytest.mark.parametrize("entry", ["console.example.com", "https://x.example.com/path", "ftp://x"])
def test_a_malformed_origin_is_refused_at_start(entry: str) -> None:
    with pytest.raises(ValueError, match="CORS_ALLOWED_ORIGINS"):
        AllowedOrigins.parse(entry)


def test_an_origin_on_any_port_matches_that_host_only() -> None:
    origins = AllowedOrigins.parse("http://localhost:*")
    assert origins.allows("http://localhost:5173") and origins.allows("http://localhost")
    assert not origins.allows("http://localhost.evil.com")
    assert not origins.allows("http://localhost:5173.evil.com")
    assert not origins.allows("https://localhost:5173")
