"""`POST /v1/complaints` over HTTP against real PostgreSQL and Redis."""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from arq.connections import ArqRedis
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Role
from libs.contracts.messages import ANALYSIS_QUEUE
from libs.database.engine import transaction
from libs.database.tables import Complaint, IdempotencyRecord, Mention
from libs.database.tables._types import utcnow
from libs.privacy import DataKey, decrypt, generate_key, row_context
from libs.settings import Settings
from services.ingest import complaints, idempotency
from services.ingest.app import COMPLAINTS_ROUTE, MAX_BODY_BYTES, create_app
from tests.builders import Tenant, make_tenant
from tests.fixtures.http import serving
from tests.fixtures.servers import Servers

PHONE = "13812345678"
EMAIL = "lin.xiaomei@example.com"
ID_CARD = "11010519491231002X"
KEY_HEADER = idempotency.HEADER


def complaint(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_ref": "CUST-0042781",
        "order_id": "TM20261121083012",
        "channel": "hotline",
        "text": f"奶粉喝了以后宝宝拉肚子，请回电 {PHONE} 或发邮件 {EMAIL}",
        "occurred_at": "2026-11-21T08:30:00+08:00",
        "contacts": [
            {"kind": "phone", "value": "138-1234-5678"},
            {"kind": "email", "value": EMAIL},
            {"kind": "id_card", "value": ID_CARD},
        ],
    }
    body.update(overrides)
    return body


@pytest.fixture(scope="module")
def data_key_text() -> str:
    return generate_key()


@pytest_asyncio.fixture
async def client(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    data_key_text: str,
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=servers.database_url, redis_url=servers.redis_url, data_key=data_key_text
    )
    async with serve_ingest(settings) as http:
        yield http


@asynccontextmanager
async def serve_ingest(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Run an ingest app on a real loopback socket and hand out an HTTP client to it."""
    async with (
        serving(create_app(settings)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield http


@pytest_asyncio.fixture
async def tenant(sessions: async_sessionmaker[AsyncSession]) -> Tenant:
    return await make_tenant(sessions)


async def count(sessions: async_sessionmaker[AsyncSession], table: Any) -> int:
    async with sessions() as session:
        result = await session.exec(select(func.count()).select_from(table))  # type: ignore[call-overload]
        return int(result.scalar_one())


async def stored_complaint(
    sessions: async_sessionmaker[AsyncSession], complaint_id: str
) -> tuple[Complaint, Mention]:
    async with sessions() as session:
        row = await session.get(Complaint, uuid.UUID(complaint_id))
        assert row is not None
        mention = await session.get(Mention, row.mention_id)
        assert mention is not None
        return row, mention


def post(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], key: str | None = None
) -> Any:
    headers = tenant.auth(Role.INGEST)
    if key is not None:
        headers[KEY_HEADER] = key
    return client.post("/v1/complaints", content=orjson.dumps(body), headers=headers)


async def test_complaint_is_stored_masked_with_contacts_encrypted(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    data_key_text: str,
) -> None:
    response = await post(client, tenant, complaint())
    assert response.status_code == 201, response.text
    body = response.json()
    assert {(c["kind"], c["masked"]) for c in body["contacts"]} == {
        ("phone", "138****5678"),
        ("email", "l***@example.com"),
        ("id_card", "110105********002X"),
    }
    assert body["text"] == "奶粉喝了以后宝宝拉肚子，请回电 138****5678 或发邮件 l***@example.com"
    assert (
        PHONE not in response.text and EMAIL not in response.text and ID_CARD not in response.text
    )
    assert body["channel"] == "hotline" and body["order_id"] == "TM20261121083012"

    row, mention = await stored_complaint(sessions, body["id"])
    assert str(mention.id) == body["mention_id"]
    assert mention.source == "complaint"
    assert PHONE not in mention.text and "138****5678" in mention.text
    assert EMAIL not in mention.text_normalized
    assert row.contacts_cipher is not None
    assert PHONE.encode() not in row.contacts_cipher
    clear = decrypt(
        DataKey.from_base64(data_key_text),
        row.contacts_cipher,
        row_context(tenant.org.id, row.id),
    )
    assert orjson.loads(clear) == [
        {"kind": "phone", "value": PHONE},  # stored normalized, separators gone
        {"kind": "email", "value": EMAIL},
        {"kind": "id_card", "value": ID_CARD},
    ]
    assert PHONE not in orjson.dumps(row.contacts_masked).decode()
    # Analysed like any mention: one announcement on the analysis queue.
    assert await redis.zcard(ANALYSIS_QUEUE) == 1

    fetched = await client.get(f"/v1/complaints/{body['id']}", headers=tenant.auth(Role.VIEWER))
    assert fetched.status_code == 200
    assert fetched.json() == body


async def test_full_width_numbers_in_the_text_are_masked_too(
    client: httpx.AsyncClient, tenant: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    text = "请回电１３９８７６５４３２１，邮箱ａｂｃ＠ｅｘａｍｐｌｅ．ｃｎ。谢谢！"
    response = await post(client, tenant, complaint(text=text, contacts=[]))
    assert response.status_code == 201, response.text
    assert response.json()["text"] == "请回电139****4321，邮箱a***@example.cn。谢谢！"
    _, mention = await stored_complaint(sessions, response.json()["id"])
    assert "98765" not in mention.text and "98765" not in mention.text_normalized


async def test_same_external_id_again_is_the_same_complaint(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:
    first = await post(client, tenant, complaint(external_id="T-1"))
    again = await post(client, tenant, complaint(external_id="T-1", text="换了文字"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert await count(sessions, Complaint) == 1
    assert await redis.zcard(ANALYSIS_QUEUE) == 1


async def test_derived_external_id_makes_a_resend_one_complaint_and_hides_the_phone(
    client: httpx.AsyncClient, tenant: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    body = complaint(customer_ref=PHONE, contacts=[])
    first = await post(client, tenant, body)
    again = await post(client, tenant, body)
    other = await post(client, tenant, complaint(customer_ref="13800005678", contacts=[]))
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert again.json()["id"] == first.json()["id"] != other.json()["id"]
    assert first.json()["customer_ref"] == "138****5678"
    assert first.json()["external_id"].startswith("cpl-")
    assert PHONE not in first.text
    assert await count(sessions, Complaint) == 2


async def test_same_key_and_body_replays_the_first_answer(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:
    first = await post(client, tenant, complaint(), key="retry-1")
    # Same content, other key order: still the same request.
    reordered = dict(reversed(list(complaint().items())))
    again = await post(client, tenant, reordered, key="retry-1")
    assert first.status_code == 201 and idempotency.REPLAYED_HEADER not in first.headers
    assert again.status_code == 201  # the stored status, not the 200 of a duplicate
    assert again.headers[idempotency.REPLAYED_HEADER] == "true"
    assert again.json() == first.json()
    assert await count(sessions, Complaint) == 1
    assert await redis.zcard(ANALYSIS_QUEUE) == 1


async def test_same_key_with_another_body_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await post(client, tenant, complaint(), key="k-422")
    other = await post(client, tenant, complaint(text="另一件事"), key="k-422")
    assert other.status_code == 422
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.json()["errors"][0]["field"] == KEY_HEADER
    assert await count(sessions, Complaint) == 1


async def test_a_retry_while_the_first_is_in_progress_gets_409(
    client: httpx.AsyncClient, tenant: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    raw = orjson.dumps(complaint())
    now = utcnow()
    async with transaction(sessions) as session:
        session.add(
            IdempotencyRecord(
                organization_id=tenant.org.id,
                key="k-busy",
                route=COMPLAINTS_ROUTE,
                request_hash=idempotency.request_hash(COMPLAINTS_ROUTE, raw),
                created_at=now,
                expires_at=now + idempotency.TTL,
            )
        )
    response = await client.post(
        "/v1/complaints", content=raw, headers={**tenant.auth(Role.INGEST), KEY_HEADER: "k-busy"}
    )
    assert response.status_code == 409
    assert response.headers["retry-after"] == str(idempotency.RETRY_AFTER_SECONDS)
    assert response.json()["errors"][0]["field"] == KEY_HEADER
    assert await count(sessions, Complaint) == 0


async def test_concurrent_duplicates_store_one_complaint(
    client: httpx.AsyncClient, tenant: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    responses = await asyncio.gather(
        *(post(client, tenant, complaint(), key="k-race") for _ in range(5))
    )
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 409}, statuses
    assert {r.json()["id"] for r in responses if r.status_code == 201} != set()
    assert len({r.json()["id"] for r in responses if r.status_code == 201}) == 1
    assert await count(sessions, Complaint) == 1


async def test_a_failed_first_attempt_releases_the_key(
    servers: Servers,
    tenant: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    data_key_text: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_store = complaints.store
    calls = 0

    async def failing_once(*args: Any, **kwargs: Any) -> complaints.Stored:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database went away")
        return await real_store(*args, **kwargs)

    monkeypatch.setattr(complaints, "store", failing_once)
    settings = Settings(
        database_url=servers.database_url, redis_url=servers.redis_url, data_key=data_key_text
    )
    async with serve_ingest(settings) as client:
        failed = await post(client, tenant, complaint(), key="k-fail")
        assert failed.status_code == 500
        assert await count(sessions, IdempotencyRecord) == 0
        retried = await post(client, tenant, complaint(), key="k-fail")
    assert retried.status_code == 201
    assert idempotency.REPLAYED_HEADER not in retried.headers
    assert calls == 2
    assert await count(sessions, Complaint) == 1


async def test_an_expired_key_can_be_used_again(
    client: httpx.AsyncClient, tenant: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = await post(client, tenant, complaint(), key="k-old")
    async with sessions() as session:
        record = await session.get(IdempotencyRecord, (tenant.org.id, "k-old"))
    assert record is not None and record.status == idempotency.COMPLETED
    assert record.expires_at - record.created_at == timedelta(hours=24)
    # A day later: the record is past its expiry.
    async with transaction(sessions) as session:
        await session.exec(
            update(IdempotencyRecord)
            .where(col(IdempotencyRecord.key) == "k-old")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    reused = await post(client, tenant, complaint(text="第二天的新投诉"), key="k-old")
    assert reused.status_code == 201
    assert reused.json()["id"] != first.json()["id"]
    assert await count(sessions, Complaint) == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"customer_ref": ""}, "customer_ref"),
        ({"channel": "carrier_pigeon"}, "channel"),
        ({"text": "  "}, "text"),
        ({"text": "坏\x00字"}, "text"),
        ({"occurred_at": "2026-11-21T08:30:00"}, "occurred_at"),
        ({"occurred_at": "2099-01-01T00:00:00+08:00"}, "occurred_at"),
        ({"contacts": [{"kind": "phone", "value": "12345"}]}, "contacts[0].value"),
        (
            {"contacts": [{"kind": "email", "value": EMAIL}, {"kind": "id_card", "value": "1"}]},
            "contacts[1].value",
        ),
        ({"contacts": [{"kind": "fax", "value": "x"}]}, "contacts[0].kind"),
        ({"contacts": [{"kind": "other", "value": str(i)} for i in range(11)]}, "contacts"),
        ({"external_id": "x" * 201}, "external_id"),
        ({"urgency": "high"}, "urgency"),
    ],
)
async def test_invalid_fields_are_named(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    overrides: dict[str, Any],
    field: str,
) -> None:
    response = await post(client, tenant, complaint(**overrides), key="k-invalid")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert PHONE not in response.text
    assert await count(sessions, Complaint) == 0
    assert await count(sessions, IdempotencyRecord) == 0  # a refusal leaves the key free


async def test_missing_required_fields_and_bad_bodies_are_named(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    missing = await post(client, tenant, {"channel": "app"})
    assert {e["field"] for e in missing.json()["errors"]} == {"customer_ref", "text"}
    listed = await post(client, tenant, [complaint()])  # type: ignore[arg-type]
    assert listed.status_code == 422 and "body" in listed.json()["detail"]
    broken = await client.post("/v1/complaints", content=b"{nope", headers=tenant.auth(Role.INGEST))
    assert broken.status_code == 422 and "not valid JSON" in broken.json()["detail"]


@pytest.mark.parametrize("key", [b"", b"x" * 256, "schlüssel".encode(), b"tab\there"])
async def test_malformed_idempotency_key_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, key: bytes
) -> None:
    response = await client.post(
        "/v1/complaints",
        content=orjson.dumps(complaint()),
        headers=[
            *((name.encode(), value.encode()) for name, value in tenant.auth(Role.INGEST).items()),
            (KEY_HEADER.encode(), key),
        ],
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == KEY_HEADER


async def test_body_over_the_limit_is_413(client: httpx.AsyncClient, tenant: Tenant) -> None:
    huge = orjson.dumps(complaint(text="投" * (MAX_BODY_BYTES // 3 + 1)))
    assert len(huge) > MAX_BODY_BYTES
    response = await client.post("/v1/complaints", content=huge, headers=tenant.auth(Role.INGEST))
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_keys_and_complaints_are_per_organization(
    client: httpx.AsyncClient, tenant: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    other = await make_tenant(sessions, "other")
    ours = await post(client, tenant, complaint(), key="shared-key")
    theirs = await post(client, other, complaint(text="别家的投诉"), key="shared-key")
    assert (ours.status_code, theirs.status_code) == (201, 201)
    assert idempotency.REPLAYED_HEADER not in theirs.headers
    foreign = await client.get(
        f"/v1/complaints/{ours.json()['id']}", headers=other.auth(Role.ADMIN)
    )
    assert foreign.status_code == 404
    own = await client.get(f"/v1/complaints/{ours.json()['id']}", headers=tenant.auth(Role.VIEWER))
    assert own.status_code == 200
    unknown = await client.get(f"/v1/complaints/{uuid.uuid4()}", headers=tenant.auth(Role.VIEWER))
    assert unknown.status_code == 404


async def test_keys_without_the_ingest_role_cannot_post(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    anonymous = await client.post("/v1/complaints", json=complaint())
    viewer = await client.post("/v1/complaints", json=complaint(), headers=tenant.auth(Role.VIEWER))
    assert (anonymous.status_code, viewer.status_code) == (401, 403)


async def test_without_a_data_key_contacts_are_refused_and_the_rest_works(
    servers: Servers, tenant: Tenant, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    settings = Settings(
        database_url=servers.database_url, redis_url=servers.redis_url, data_key=None
    )
    async with serve_ingest(settings) as client:
        refused = await post(client, tenant, complaint(), key="k-nokey")
        assert refused.status_code == 503
        assert refused.json()["errors"][0]["field"] == "contacts"
        assert await count(sessions, IdempotencyRecord) == 0
        plain = await post(client, tenant, complaint(contacts=[]), key="k-nokey")
    assert plain.status_code == 201, plain.text
    assert plain.json()["contacts"] == []
    assert "138****5678" in plain.json()["text"]
    row, _ = await stored_complaint(sessions, plain.json()["id"])
    assert row.contacts_cipher is None


async def test_no_log_line_carries_a_clear_phone_number(
    servers: Servers,
    tenant: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    data_key_text: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = Settings(
        database_url=servers.database_url, redis_url=servers.redis_url, data_key=data_key_text
    )
    # The app is built while the capture handler is attached, as a server's handlers are.
    async with serve_ingest(settings) as client:
        response = await post(client, tenant, complaint(customer_ref=PHONE), key="k-log")
        # Whatever else logs (a library, a traceback) passes the same mask.
        logging.getLogger("asyncpg").warning("value %s rejected", PHONE)
    assert response.status_code == 201
    messages = [record.getMessage() for record in caplog.records]
    assert any("138****5678" in message for message in messages)  # the complaint was logged
    assert "value 138****5678 rejected" in messages
    assert not any(PHONE in message for message in messages)
    assert PHONE not in caplog.text


async def test_openapi_documents_route_schemas_and_the_header(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"]["/v1/complaints"]["post"]
    schemas = spec["components"]["schemas"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request_schema = schemas[ref.rsplit("/", 1)[1]]
    assert {"customer_ref", "channel", "text", "contacts"} <= set(request_schema["properties"])
    assert set(request_schema["required"]) == {"customer_ref", "channel", "text"}
    assert request_schema["examples"]
    # Every reference resolves, so a client generator can follow it.
    for target in _refs(spec):
        assert target.startswith("#/components/schemas/") and target.rsplit("/", 1)[1] in schemas
    created = operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert created.endswith("/ComplaintOut")
    assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]
    assert {"409", "413", "422", "503"} <= set(operation["responses"])
    header = next(p for p in operation["parameters"] if p["name"] == KEY_HEADER)
    assert header["in"] == "header" and header["required"] is False
    assert header["schema"]["maxLength"] == 255 and header["schema"]["minLength"] == 1
    mentions = spec["paths"]["/v1/mentions"]["post"]["parameters"]
    assert any(p["name"] == KEY_HEADER for p in mentions)
    assert "/v1/complaints/{complaint_id}" in spec["paths"]


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_stored_masked_contacts_come_back_in_a_stable_order() -> None:
    stored = {"email": "l***@x.cn", "phone_2": "139****0000", "id_card_2": "b", "phone": "a"}
    shown = [(c.kind.value, c.masked) for c in complaints.contacts_out(stored)]
    assert shown == [
        ("phone", "a"),
        ("phone", "139****0000"),
        ("email", "l***@x.cn"),
        ("id_card", "b"),
    ]
