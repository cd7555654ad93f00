"""The complaint routes over HTTP against real PostgreSQL and Redis."""

import logging
import uuid

import httpx
import orjson
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Role
from libs.contracts.messages import ANALYSIS_QUEUE
from libs.database.tables import Complaint, IdempotencyRecord, Mention
from libs.privacy import DataKey, Purpose, decrypt, row_context
from libs.text import normalize
from services.ingest.body import MAX_BODY_BYTES
from services.ingest.idempotency.http import REPLAYED_HEADER
from services.ingest.tests.builders import (
    EMAIL,
    ID_CARD,
    PHONE,
    assert_one_complaint_answered_twice,
    complaint,
    count,
    post_complaint,
    serve_ingest,
    settings_for,
)
from tests.builders import Tenant, make_tenant
from tests.fixtures.logs import captured_logs
from tests.fixtures.servers import Servers


async def stored_complaint(
    sessions: async_sessionmaker[AsyncSession], complaint_id: str
) -> tuple[Complaint, Mention]:
    async with sessions() as session:
        row = await session.get(Complaint, uuid.UUID(complaint_id))
        assert row is not None
        mention = await session.get(Mention, row.mention_id)
        assert mention is not None
        return row, mention


async def test_complaint_is_stored_masked_with_contacts_encrypted(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    data_key_text: str,
) -> None:
    response = await post_complaint(client, tenant, complaint())
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
    assert body["channel"] == "hotline" and body["order_id"] == "************3012"

    row, mention = await stored_complaint(sessions, body["id"])
    assert str(mention.id) == body["mention_id"]
    assert mention.source == "complaint"
    assert PHONE not in mention.text and "138****5678" in mention.text
    assert EMAIL not in normalize(mention.text)
    assert row.contacts_cipher is not None
    assert PHONE.encode() not in row.contacts_cipher
    clear = decrypt(
        DataKey.from_base64(data_key_text),
        row.contacts_cipher,
        row_context(tenant.org.id, row.id, Purpose.COMPLAINT_CONTACTS),
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


async def test_same_external_id_again_is_the_same_complaint(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:
    first = await post_complaint(client, tenant, complaint(external_id="T-1"))
    again = await post_complaint(client, tenant, complaint(external_id="T-1", text="换了文字"))
    assert (first.status_code, again.status_code) == (201, 200)
    await assert_one_complaint_answered_twice(first, again, sessions, redis)


async def test_an_invalid_body_is_refused_as_a_problem_and_leaves_the_key_free(
    client: httpx.AsyncClient, tenant: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    invalid = complaint(contacts=[{"kind": "phone", "value": "12345"}])
    response = await post_complaint(client, tenant, invalid, key="k-invalid")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == ["contacts[0].value"]
    assert PHONE not in response.text
    assert await count(sessions, Complaint) == 0
    assert await count(sessions, IdempotencyRecord) == 0  # a refusal leaves the key free


async def test_missing_required_fields_and_bad_bodies_are_named(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    missing = await post_complaint(client, tenant, {"channel": "app"})
    assert {e["field"] for e in missing.json()["errors"]} == {"customer_ref", "text"}
    listed = await post_complaint(client, tenant, [complaint()])
    assert listed.status_code == 422 and "body" in listed.json()["detail"]
    broken = await client.post("/v1/complaints", content=b"{nope", headers=tenant.auth(Role.INGEST))
    assert broken.status_code == 422 and "not valid JSON" in broken.json()["detail"]


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
    ours = await post_complaint(client, tenant, complaint(), key="shared-key")
    theirs = await post_complaint(client, other, complaint(text="别家的投诉"), key="shared-key")
    assert (ours.status_code, theirs.status_code) == (201, 201)
    assert REPLAYED_HEADER not in theirs.headers
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
    async with serve_ingest(settings_for(servers, data_key=None)) as client:
        refused = await post_complaint(client, tenant, complaint(), key="k-nokey")
        assert refused.status_code == 503
        assert refused.json()["errors"][0]["field"] == "contacts"
        assert await count(sessions, IdempotencyRecord) == 0
        plain = await post_complaint(client, tenant, complaint(contacts=[]), key="k-nokey")
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
) -> None:
    with captured_logs() as logs:
        async with serve_ingest(settings_for(servers, data_key=data_key_text)) as client:
            response = await post_complaint(
                client, tenant, complaint(customer_ref=PHONE), key="k-log"
            )
            # Whatever else logs (a library, a traceback) passes the same mask.
            logging.getLogger("asyncpg").warning("value %s rejected", PHONE)
    assert response.status_code == 201
    assert "from customer 138****5678" in logs.getvalue()  # the complaint was logged
    assert "value 138****5678 rejected" in logs.getvalue()
    assert PHONE not in logs.getvalue()
