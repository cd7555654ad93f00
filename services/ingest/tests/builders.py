"""Plain builders for ingest's tests: request bodies, settings, organizations, a served app."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import orjson
from arq.connections import ArqRedis
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Role
from libs.contracts.messages import ANALYSIS_QUEUE, MentionIngested
from libs.contracts.outcome import Outcome
from libs.database.tables import Complaint, Mention, MentionAnalysis, Organization
from services.ingest.app import create_app
from services.ingest.config import IngestSettings
from services.ingest.idempotency.service import HEADER
from services.ingest.mentions.schemas import Envelope
from services.ingest.schemas import MentionIn
from services.ingest.service import store_batch
from tests.builders import Tenant
from tests.fixtures.http import client_of
from tests.fixtures.servers import Servers

PHONE = "13812345678"
EMAIL = "lin.xiaomei@example.com"
ID_CARD = "11010519491231002X"


def mention(external_id: str = "4890123", **overrides: Any) -> dict[str, Any]:
    """Return one mention as a crawler sends it, with `overrides` applied."""
    item: dict[str, Any] = {
        "source": "weibo",
        "external_id": external_id,
        "text": "<p>禾元奶粉喝了以后宝宝拉肚子，已经向客服投诉！</p>",
        "url": "https://weibo.com/1234567890/NxYz12345",
        "posted_at": "2026-11-21T08:00:00+08:00",
        "author": {"handle": "新手妈妈小林", "followers": 1200, "verified": False, "kind": "user"},
        "metrics": {"reposts": 10, "comments": 3, "likes": 40, "views": 5000},
        "repost_of": None,
    }
    item.update(overrides)
    return item


def batch(*items: Any) -> Envelope:
    """Return the envelope of a `POST /v1/mentions` body carrying `items`."""
    return Envelope(mentions=list(items))


def complaint(**overrides: Any) -> dict[str, Any]:
    """Return a complaint as a service desk sends it, contacts included, `overrides` applied."""
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


async def make_organization(session: AsyncSession) -> uuid.UUID:
    """Stage an organization of its own (a unique slug) and return its id."""
    slug = f"org-{uuid.uuid4().hex[:12]}"
    organization = Organization(slug=slug, name=f"{slug} Inc.")
    session.add(organization)
    await session.flush()
    return organization.id


async def store_mentions(
    session: AsyncSession, organization_id: uuid.UUID, *external_ids: str
) -> list[uuid.UUID]:
    """Store one mention per external id as ingest does; return their ids in that order."""
    items = {i: MentionIn.model_validate(mention(name)) for i, name in enumerate(external_ids)}
    return (await store_batch(session, organization_id, items)).new_ids


async def stored_at(session: AsyncSession, mention_id: uuid.UUID, ingested_at: datetime) -> None:
    """Make a mention look stored at `ingested_at`."""
    await session.exec(
        update(Mention).where(col(Mention.id) == mention_id).values(ingested_at=ingested_at)
    )


def make_analysis(
    session: AsyncSession, organization_id: uuid.UUID, mention_id: uuid.UUID
) -> MentionAnalysis:
    """Stage a neutral analysis of a mention."""
    analysis = MentionAnalysis(
        mention_id=mention_id,
        organization_id=organization_id,
        sentiment="neutral",
        sentiment_score=0.0,
    )
    session.add(analysis)
    return analysis


def settings_for(servers: Servers, **overrides: Any) -> IngestSettings:
    """Return ingest settings pointing at the test backend's servers."""
    return IngestSettings(
        database_url=servers.database_url, redis_url=servers.redis_url, **overrides
    )


@asynccontextmanager
async def serve_ingest(settings: IngestSettings) -> AsyncIterator[httpx.AsyncClient]:
    """Run an ingest app on a real loopback socket and hand out an HTTP client to it."""
    async with client_of(create_app(settings)) as http:
        yield http


async def post_complaint(
    client: httpx.AsyncClient, tenant: Tenant, body: Any, key: str | None = None
) -> httpx.Response:
    """Post `body` to `/v1/complaints` with the tenant's ingest key and `key` if given."""
    headers = tenant.auth(Role.INGEST)
    if key is not None:
        headers[HEADER] = key
    return await client.post("/v1/complaints", content=orjson.dumps(body), headers=headers)


async def count(sessions: async_sessionmaker[AsyncSession], table: Any) -> int:
    """Return how many rows `table` holds."""
    async with sessions() as session:
        result = await session.exec(select(func.count()).select_from(table))  # type: ignore[call-overload]
        return int(result.scalar_one())


async def count_of(session: AsyncSession, table: Any, organization_id: uuid.UUID) -> int:
    """Return how many rows of `table` belong to this organization."""
    result = await session.exec(
        select(func.count())  # type: ignore[call-overload]
        .select_from(table)
        .where(col(table.organization_id) == organization_id)
    )
    return int(result.scalar_one())


async def assert_one_complaint_answered_twice(
    first: httpx.Response,
    again: httpx.Response,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:
    """The second answer repeats the first; one complaint was stored and queued once."""
    assert again.json() == first.json()
    assert await count(sessions, Complaint) == 1
    assert await redis.zcard(ANALYSIS_QUEUE) == 1


def announced(outcome: Outcome) -> list[tuple[uuid.UUID, list[uuid.UUID]]]:
    """Return (organization, mention ids) of each `mention.ingested.v1` the outcome emits."""
    found = []
    for message in outcome.messages:
        assert isinstance(message, MentionIngested), message
        found.append((message.organization_id, message.mention_ids))
    return found
