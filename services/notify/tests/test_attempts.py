"""Around each attempt: a claim leases what is due; an answer counts only under its lease."""

import uuid
from datetime import timedelta

from libs.contracts.notify import RedeliverWebhook
from libs.database.engine import transaction
from libs.privacy import DataKey
from services.notify import service
from services.notify.delivery.attempts import LEASE, SUPERSEDED
from services.notify.delivery.delivery import Answer, Attempt
from services.notify.tests.builders import (
    NOW,
    PUBLIC,
    delivered_once,
    deliveries_of,
    forget_other_deliveries,
    run,
)
from tests.builders import Sessions


async def _one_due(sessions: Sessions, key: DataKey) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """Leave one delivery due at NOW and no other; return its organization, endpoint and event."""
    await forget_other_deliveries(sessions)
    return await delivered_once(sessions, key)


async def _claim(sessions: Sessions, key: DataKey, *, at: timedelta) -> list[Attempt]:
    async with transaction(sessions) as session:
        return await service.claim_due(session, key, now=NOW + at, limit=10)


async def test_a_claim_leases_the_due_delivery_until_the_lease_runs_out(
    rolled_back: Sessions, key: DataKey
) -> None:
    _, endpoint_id, event_id = await _one_due(rolled_back, key)

    [claimed] = await _claim(rolled_back, key, at=timedelta(0))

    assert (claimed.endpoint_id, claimed.event_id, claimed.url) == (
        endpoint_id,
        event_id,
        PUBLIC,
    )
    assert claimed.lease == NOW + LEASE and claimed.problem is None
    assert len(claimed.secrets) == 1
    [delivery] = await deliveries_of(rolled_back, endpoint_id)
    assert (delivery.status, delivery.next_attempt_at) == ("pending", NOW + LEASE)
    assert await _claim(rolled_back, key, at=LEASE - timedelta(seconds=1)) == []
    [again] = await _claim(rolled_back, key, at=LEASE)
    assert again.delivery_id == claimed.delivery_id


async def test_an_answer_after_a_redelivery_in_flight_is_not_recorded(
    rolled_back: Sessions, key: DataKey
) -> None:
    org, endpoint_id, _ = await _one_due(rolled_back, key)
    [claimed] = await _claim(rolled_back, key, at=timedelta(0))
    redeliver = RedeliverWebhook(
        organization_id=org, actor="key-admin", delivery_id=claimed.delivery_id
    )
    later = NOW + timedelta(seconds=30)
    assert (await run(rolled_back, lambda s: service.redeliver(s, redeliver, now=later))).ok

    async with transaction(rolled_back) as session:
        status = await service.record_answer(
            session, claimed, Answer(status_code=500, error="HTTP 500"), now=later
        )

    assert status == SUPERSEDED
    [delivery] = await deliveries_of(rolled_back, endpoint_id)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
        "pending",
        0,
        later,
    )
    assert delivery.last_error is None
