"""Persisted queries: Apollo's automatic ones, GET for caches, and trusted-documents mode."""

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from redis.asyncio import Redis

from gateway.persisted.automatic import KEY_PREFIX, AutomaticStore, sha256_hex
from gateway.persisted.trusted import ManifestError, TrustedDocuments
from gateway.tests.conftest import serve
from gateway.tests.subscription_support import bearer, live_client, serve_gateway
from libs.contracts.enums import Role
from libs.settings import Settings
from tests.builders import Tenant

QUERY = "query Who { __typename }"
OTHER = "query Again { again: __typename }"
MUTATION = "mutation Touch { __typename }"


def persisted(document: str | None, digest: str | None = None) -> dict[str, Any]:
    """An APQ request body: the hash, and the document's text when given."""
    body: dict[str, Any] = {
        "extensions": {
            "persistedQuery": {"version": 1, "sha256Hash": digest or sha256_hex(document or "")}
        }
    }
    if document is not None:
        body["query"] = document
    return body


def codes(answer: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in answer.json()["errors"]]


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    """Apollo's manifest as `generate-persisted-query-manifest` writes it, with one query."""
    path = tmp_path / "persisted-query-manifest.json"
    operation = {"id": sha256_hex(QUERY), "name": "Who", "type": "query", "body": QUERY}
    path.write_text(
        json.dumps(
            {"format": "apollo-persisted-query-manifest", "version": 1, "operations": [operation]}
        )
    )
    return path


@pytest.fixture
async def trusted(settings: Settings, manifest: Path) -> AsyncIterator[Settings]:
    yield settings.model_copy(
        update={"trusted_documents_only": True, "trusted_documents_manifest": str(manifest)}
    )


async def test_a_hash_alone_is_asked_for_its_text_once_then_runs_on_any_gateway(
    settings: Settings, redis: ArqRedis, acme: Tenant
) -> None:
    key = acme.auth(Role.VIEWER)
    async with serve(settings) as http:
        unknown = await http.post("/graphql", json=persisted(None, sha256_hex(QUERY)), headers=key)
        registered = await http.post("/graphql", json=persisted(QUERY), headers=key)
        again = await http.post("/graphql", json=persisted(None, sha256_hex(QUERY)), headers=key)
    # A gateway that never saw the text finds it in Redis.
    async with serve(settings) as http:
        elsewhere = await http.post(
            "/graphql", json=persisted(None, sha256_hex(QUERY)), headers=key
        )
    assert unknown.status_code == 200
    assert unknown.headers["content-type"] == "application/json"
    assert codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert registered.json()["data"] == {"__typename": "Query"}
    assert again.json()["data"] == {"__typename": "Query"}
    assert elsewhere.json()["data"] == {"__typename": "Query"}
    assert await redis.get(KEY_PREFIX + sha256_hex(QUERY)) is not None


async def test_a_text_that_does_not_match_its_hash_is_refused_and_not_kept(
    settings: Settings, redis: ArqRedis, acme: Tenant
) -> None:
    key = acme.auth(Role.VIEWER)
    async with serve(settings) as http:
        mismatch = await http.post(
            "/graphql", json=persisted(OTHER, sha256_hex(QUERY)), headers=key
        )
        after = await http.post("/graphql", json=persisted(None, sha256_hex(QUERY)), headers=key)
    assert codes(mismatch) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    assert codes(after) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_a_document_that_does_not_validate_is_not_kept(
    settings: Settings, redis: ArqRedis, acme: Tenant
) -> None:
    broken = "{ noSuchField }"
    key = acme.auth(Role.VIEWER)
    async with serve(settings) as http:
        await http.post("/graphql", json=persisted(broken), headers=key)
        after = await http.post("/graphql", json=persisted(None, sha256_hex(broken)), headers=key)
    assert codes(after) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert await redis.get(KEY_PREFIX + sha256_hex(broken)) is None


def _get_params(document: str | None, digest: str) -> dict[str, str]:
    params = {"extensions": json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}})}
    if document is not None:
        params["query"] = document
    return params


async def test_get_runs_persisted_queries_but_never_a_mutation(
    settings: Settings, redis: ArqRedis, acme: Tenant
) -> None:
    key = acme.auth(Role.RESPONDER)
    async with serve(settings) as http:
        await http.post("/graphql", json=persisted(QUERY), headers=key)
        cached = await http.get(
            "/graphql", params=_get_params(None, sha256_hex(QUERY)), headers=key
        )
        mutation = await http.get(
            "/graphql", params=_get_params(MUTATION, sha256_hex(MUTATION)), headers=key
        )
        plain = await http.get("/graphql", params={"query": QUERY}, headers=key)
    assert cached.status_code == 200
    assert cached.json()["data"] == {"__typename": "Query"}
    assert "authorization" in cached.headers["vary"].lower()
    assert cached.headers["ratelimit-remaining"]
    assert mutation.status_code == 405
    assert mutation.headers["allow"] == "POST"
    assert codes(mutation) == ["MethodNotAllowed"]
    assert plain.status_code == 400
    assert codes(plain) == ["BadRequest"]


async def test_trusted_mode_runs_registered_documents_only(
    trusted: Settings, redis: ArqRedis, acme: Tenant
) -> None:
    key = acme.auth(Role.VIEWER)
    async with serve(trusted) as http:
        by_hash = await http.post("/graphql", json=persisted(None, sha256_hex(QUERY)), headers=key)
        by_text = await http.post("/graphql", json={"query": QUERY}, headers=key)
        unregistered = await http.post("/graphql", json={"query": OTHER}, headers=key)
        offered = await http.post("/graphql", json=persisted(OTHER), headers=key)
        unknown_hash = await http.post(
            "/graphql", json=persisted(None, sha256_hex(OTHER)), headers=key
        )
    assert by_hash.json()["data"] == {"__typename": "Query"}
    assert by_text.json()["data"] == {"__typename": "Query"}
    for refused in (unregistered, offered, unknown_hash):
        assert codes(refused) == ["PERSISTED_QUERY_NOT_IN_LIST"], refused.text
        assert "data" not in refused.json()
    # Offering the text does not register it.
    assert await redis.get(KEY_PREFIX + sha256_hex(OTHER)) is None


async def test_trusted_mode_applies_to_operations_on_a_websocket(
    trusted: Settings, redis: ArqRedis, acme: Tenant
) -> None:
    async with (
        serve_gateway(trusted) as gateway,
        live_client(gateway.url, bearer(acme.keys[Role.VIEWER])) as live,
    ):
        refused = await live.subscribe(OTHER)
        refusal = await live.receive()
        allowed = await live.subscribe(QUERY)
        data = await live.next_data(allowed)
    assert refusal["type"] == "error" and refusal["id"] == refused
    assert refusal["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    assert data == {"__typename": "Query"}


def test_a_relay_manifest_registers_documents_by_its_own_ids(tmp_path: Path) -> None:
    path = tmp_path / "relay.json"
    path.write_text(json.dumps({"4a1b2c3d": QUERY}))
    documents = TrustedDocuments.load([path])
    assert documents.find("4a1b2c3d") == QUERY
    assert documents.find(sha256_hex(QUERY)) == QUERY
    assert documents.trusts(QUERY) and not documents.trusts(OTHER)


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '{"format": "apollo-persisted-query-manifest", "version": 2, "operations": []}',
        '{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id": 1}]}',
        '["a list"]',
    ],
)
def test_a_malformed_manifest_stops_the_start(tmp_path: Path, content: str) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(content)
    with pytest.raises(ManifestError):
        TrustedDocuments.load([path])


async def test_while_redis_is_away_documents_are_kept_in_memory() -> None:
    away = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    store = AutomaticStore()
    try:
        await store.put(away, sha256_hex(QUERY), QUERY)
        assert await store.get(away, sha256_hex(QUERY)) == QUERY
        assert await store.get(away, sha256_hex(OTHER)) is None
    finally:
        await away.aclose()


async def test_in_development_a_bare_get_is_graphiql_and_a_persisted_get_runs(
    settings: Settings, redis: ArqRedis, acme: Tenant
) -> None:
    development = settings.model_copy(update={"crisiswatch_env": "development"})
    key = acme.auth(Role.VIEWER)
    async with serve(development) as http:
        ide = await http.get("/graphql", headers={"Accept": "text/html"})
        await http.post("/graphql", json=persisted(QUERY), headers=key)
        cached = await http.get(
            "/graphql", params=_get_params(None, sha256_hex(QUERY)), headers=key
        )
    assert "graphiql" in ide.text.lower()
    assert cached.json()["data"] == {"__typename": "Query"}
