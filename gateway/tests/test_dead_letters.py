"""Admins see what their organization's pipeline could not do: dead letters (never another's,
never the payload) and mentions not analysed (their reasons masked)."""

import uuid
from datetime import UTC, datetime, timedelta

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.tests import builders
from gateway.tests.conftest import GraphQL
from libs.contracts.enums import Role
from libs.database import tables
from libs.database.engine import transaction
from libs.messaging import dead_letters
from tests.builders import Tenant

LIST = """
query($include: Boolean!) { deadLetters(includeRedriven: $include) {
  messageId consumer jobName error tries failedAt redrivenAt
} }
"""


async def _letter(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, error: str, secret: str
) -> uuid.UUID:
    message_id = uuid.uuid4()
    await dead_letters.record(
        sessions,
        consumer="incidents",
        queue="crisiswatch:incidents",
        job_name="affected_user.add.v1",
        payload={
            "message_id": str(message_id),
            "organization_id": str(tenant.org.id),
            "contact": secret,
        },
        error=error,
    )
    return message_id


async def test_an_admin_lists_own_dead_letters_without_their_payload(
    gql: GraphQL,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    acme: Tenant,
    rival: Tenant,
) -> None:
    older = await _letter(sessions, acme, "KeyError: 'tier'", "13800138000")
    newer = await _letter(sessions, acme, "ValueError: bad tier", "13900139000")
    await _letter(sessions, rival, "rival's own failure", "13700137000")

    body = await gql(acme.auth(Role.ADMIN), LIST, {"include": False})
    letters = body["data"]["deadLetters"]
    assert [letter["messageId"] for letter in letters] == [str(newer), str(older)]
    assert letters[0]["error"] == "ValueError: bad tier"
    assert letters[0]["consumer"] == "incidents"
    assert letters[0]["tries"] == 1
    assert letters[0]["redrivenAt"] is None
    assert "13800138000" not in str(body) and "13900139000" not in str(body)
    assert "rival" not in str(body)

    # Once re-driven it leaves the default list, but stays readable on request.
    assert await dead_letters.redrive(sessions, redis, newer) == 1
    pending = await gql(acme.auth(Role.ADMIN), LIST, {"include": False})
    assert [x["messageId"] for x in pending["data"]["deadLetters"]] == [str(older)]
    every = await gql(acme.auth(Role.ADMIN), LIST, {"include": True})
    redriven = {x["messageId"]: x["redrivenAt"] for x in every["data"]["deadLetters"]}
    assert redriven[str(newer)] is not None and redriven[str(older)] is None


async def test_only_admins_may_list_dead_letters(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    await _letter(sessions, acme, "boom", "13800138000")
    body = await gql(acme.auth(Role.RESPONDER), LIST, {"include": False})
    assert body["data"] is None
    assert "Only an admin key may list dead letters." in body["errors"][0]["message"]


async def test_a_page_larger_than_allowed_is_refused(gql: GraphQL, acme: Tenant) -> None:
    body = await gql(acme.auth(Role.ADMIN), "{ deadLetters(first: 101) { messageId } }")
    assert body["data"] is None
    assert "`first` must be between 0 and 100, got 101." in body["errors"][0]["message"]


FAILURES = """
query($givenUp: Boolean!) { mentionFailures(givenUpOnly: $givenUp) {
  reason tries givenUpAt mention { databaseId }
} }
"""


async def _failure(
    sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    reason: str,
    at: datetime,
    *,
    given_up: bool,
) -> uuid.UUID:
    async with transaction(sessions) as session:
        mention = await builders.mention(session, tenant.org.id, posted_at=at)
        session.add(
            tables.MentionFailure(
                mention_id=mention.id,
                organization_id=tenant.org.id,
                tries=15 if given_up else 2,
                reason=reason,
                first_failed_at=at,
                last_failed_at=at,
                given_up_at=at if given_up else None,
            )
        )
    return mention.id


async def test_an_admin_lists_own_mention_failures_masked_and_the_given_up_alone(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant, rival: Tenant
) -> None:
    now = datetime.now(UTC)
    retrying = await _failure(
        sessions,
        acme,
        "ValueError: bad text 联系13812345678",
        now - timedelta(minutes=1),
        given_up=False,
    )
    gave_up = await _failure(
        sessions,
        acme,
        "given up after 15 tries: not analysed",
        now - timedelta(hours=1),
        given_up=True,
    )
    await _failure(sessions, rival, "rival's own", now, given_up=True)

    listed = (await gql(acme.auth(Role.ADMIN), FAILURES, {"givenUp": False}))["data"]
    failures = listed["mentionFailures"]
    assert [f["mention"]["databaseId"] for f in failures] == [str(retrying), str(gave_up)]
    assert failures[0]["reason"] == "ValueError: bad text 联系138****5678"
    assert failures[0]["givenUpAt"] is None and failures[1]["givenUpAt"] is not None
    assert "rival" not in str(listed)

    only = (await gql(acme.auth(Role.ADMIN), FAILURES, {"givenUp": True}))["data"]
    assert [f["mention"]["databaseId"] for f in only["mentionFailures"]] == [str(gave_up)]

    refused = await gql(acme.auth(Role.RESPONDER), FAILURES, {"givenUp": False})
    assert refused["data"] is None
    assert "Only an admin key may list mention failures." in refused["errors"][0]["message"]
