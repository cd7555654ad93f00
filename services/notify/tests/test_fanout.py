"""Fan-out: subscribed, active endpoints of the event's organization get one delivery each."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import EventType
from libs.contracts.notify import UpdateWebhookEndpoint
from libs.database.engine import transaction
from libs.privacy import DataKey, generate_key
from services.notify import endpoints
from services.notify.tests.builders import create, deliveries_of, emit, event
from tests.builders import make_tenant

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
PUBLIC = "https://93.184.215.14/hook"


@pytest.fixture
def key() -> DataKey:
    return DataKey.from_base64(generate_key())


async def test_only_subscribed_active_endpoints_of_the_organization_get_the_event(
    sessions: Sessions, key: DataKey
) -> None:
    org = (await make_tenant(sessions)).org.id
    rival = (await make_tenant(sessions, "rival")).org.id
    both = (EventType.INCIDENT_OPENED, EventType.TASK_OVERDUE)
    subscribed, _ = await create(sessions, key, org, PUBLIC, now=NOW, event_types=both)
    other_type, _ = await create(
        sessions, key, org, PUBLIC, now=NOW, event_types=(EventType.REVIEW_COMPLETED,)
    )
    disabled, _ = await create(sessions, key, org, PUBLIC, now=NOW)
    foreign, _ = await create(sessions, key, rival, PUBLIC, now=NOW)
    disable = UpdateWebhookEndpoint(
        organization_id=org, actor="key-admin", endpoint_id=disabled, enabled=False
    )
    async with transaction(sessions) as session:
        await endpoints.update_endpoint(session, disable, now=NOW)

    assert await emit(sessions, event(org, occurred_at=NOW), now=NOW) == 1

    [delivery] = await deliveries_of(sessions, subscribed)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("pending", 0, NOW)
    assert delivery.event_type == "incident.opened"
    for endpoint_id in (other_type, disabled, foreign):
        assert await deliveries_of(sessions, endpoint_id) == []


async def test_an_event_published_again_is_not_delivered_twice(
    sessions: Sessions, key: DataKey
) -> None:
    org = (await make_tenant(sessions)).org.id
    first, _ = await create(sessions, key, org, PUBLIC, now=NOW)
    second, _ = await create(sessions, key, org, PUBLIC, now=NOW)
    message = event(org, occurred_at=NOW)
    again = message.model_copy(update={"message_id": uuid.uuid4()})

    assert await emit(sessions, message, now=NOW) == 2
    assert await emit(sessions, again, now=NOW) == 0

    assert len(await deliveries_of(sessions, first)) == 1
    assert len(await deliveries_of(sessions, second)) == 1


async def test_payloads_are_masked_before_they_are_stored(sessions: Sessions, key: DataKey) -> None:
    org = (await make_tenant(sessions)).org.id
    endpoint_id, _ = await create(sessions, key, org, PUBLIC, now=NOW)
    payload = {
        "title": "客户投诉",
        "contact": {"phone": "+86 138 0013 5678", "email": "li.na@example.cn"},
        "notes": ["身份证 11010519491231002X 已核实", 3],
    }

    await emit(sessions, event(org, occurred_at=NOW, payload=payload), now=NOW)

    [delivery] = await deliveries_of(sessions, endpoint_id)
    assert delivery.payload == {
        "type": "incident.opened",
        "timestamp": "2025-03-01T08:00:00Z",
        "data": {
            "title": "客户投诉",
            "contact": {"phone": "+86 138****5678", "email": "l***@example.cn"},
            "notes": ["身份证 110105********002X 已核实", 3],
        },
    }
