"""Real deliveries to a local receiver: signatures, rotation, retries, 410, disabling.

Each test runs the dispatcher's passes in its own rolled-back transaction, with the
deliveries earlier tests committed set aside (the `db` fixture). A pass that sends several
deliveries at once records them concurrently, on several connections, so the one test that
does so uses `sessions`.
"""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from libs.contracts.enums import EndpointKind, EventType
from libs.contracts.notify import RedeliverWebhook, RotateWebhookSecret, UpdateWebhookEndpoint
from libs.privacy import DataKey
from services.notify import service
from services.notify.delivery import retries
from services.notify.delivery.delivery import event_of, new_client, send
from services.notify.endpoints.destinations import NO_PRIVATE_NETWORKS
from services.notify.endpoints.webhook_secrets import generate_secret
from services.notify.tests.builders import (
    Receiver,
    attempt,
    create,
    deliveries_of,
    dispatch,
    emit,
    endpoint_row,
    event,
    forget_other_deliveries,
    local_endpoint,
    organization,
    run,
    try_create,
    verifies,
)
from tests.builders import Sessions


@pytest.fixture
async def db(rolled_back: Sessions) -> Sessions:
    """A rolled-back session factory in which only this test's deliveries are due."""
    await forget_other_deliveries(rolled_back)
    return rolled_back


WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"


def wall_clock() -> datetime:
    """The real time: `standardwebhooks` refuses timestamps five minutes away from it."""
    return datetime.now(UTC).replace(microsecond=0)


async def test_a_delivery_verifies_with_the_standardwebhooks_library(
    db: Sessions, key: DataKey, receiver: Receiver
) -> None:
    now = wall_clock()
    org, endpoint_id, secret = await local_endpoint(db, key, receiver.url("hook"), now=now)
    receiver.verify_with("hook", secret)
    message = event(
        org,
        occurred_at=now - timedelta(minutes=1),
        payload={"title": "「奶粉」投诉", "caller": "王女士 13800135678 wang@example.com"},
    )
    assert await emit(db, message, now=now) == 1

    assert await dispatch(db, key, now=now) == 1

    [request] = receiver.on("hook")
    assert verifies(secret, request)
    assert not verifies(generate_secret(), request)
    assert request.headers["webhook-id"] == str(message.event_id)
    assert request.headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.body)
    assert body["type"] == "incident.opened"
    assert datetime.fromisoformat(body["timestamp"]) == message.occurred_at
    assert body["data"]["title"] == "「奶粉」投诉"
    assert body["data"]["caller"] == "王女士 138****5678 w***@example.com"
    assert b"13800135678" not in request.body
    [delivery] = await deliveries_of(db, endpoint_id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 204)
    assert delivery.delivered_at == now
    assert delivery.next_attempt_at is None
    assert await dispatch(db, key, now=now + timedelta(days=1)) == 0


async def test_during_a_rotation_both_secrets_verify(
    db: Sessions, key: DataKey, receiver: Receiver
) -> None:
    now = wall_clock()
    org, endpoint_id, old = await local_endpoint(db, key, receiver.url("rotating"), now=now)
    rotate = RotateWebhookSecret(
        organization_id=org, actor="key-admin", endpoint_id=endpoint_id, overlap_hours=24
    )
    rotated = await run(db, lambda s: service.rotate_secret(s, rotate, key, now=now))
    new = rotated.once["secret"]
    assert new != old
    await emit(db, event(org, occurred_at=now), now=now)

    await dispatch(db, key, now=now)

    [request] = receiver.on("rotating")
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verifies(new, request)
    assert verifies(old, request)


async def test_after_the_overlap_only_the_new_secret_verifies(
    db: Sessions, key: DataKey, receiver: Receiver
) -> None:
    now = wall_clock()
    org = await organization(db)
    yesterday = now - timedelta(hours=25)
    endpoint_id, old = await create(db, key, org, receiver.url("rotated"), now=yesterday)
    rotate = RotateWebhookSecret(
        organization_id=org, actor="key-admin", endpoint_id=endpoint_id, overlap_hours=24
    )
    rotated = await run(db, lambda s: service.rotate_secret(s, rotate, key, now=yesterday))
    new = rotated.once["secret"]
    await emit(db, event(org, occurred_at=now), now=now)

    await dispatch(db, key, now=now)

    [request] = receiver.on("rotated")
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    assert verifies(new, request)
    assert not verifies(old, request)


async def test_failures_are_retried_on_the_schedule_until_one_succeeds(
    db: Sessions, key: DataKey, receiver: Receiver
) -> None:
    first, second = retries.RETRY_DELAYS[:2]
    # Start in the past so the attempt that succeeds is signed at the real time.
    start = wall_clock() - first - second
    org, endpoint_id, secret = await local_endpoint(db, key, receiver.url("flaky"), now=start)
    receiver.answer("flaky", 500, 503)
    message = event(org, occurred_at=start)
    await emit(db, message, now=start)

    assert await dispatch(db, key, now=start) == 1
    [delivery] = await deliveries_of(db, endpoint_id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.last_error == "receiver answered 500"
    assert delivery.next_attempt_at == start + first
    assert (await endpoint_row(db, endpoint_id)).failing_since == start

    assert await dispatch(db, key, now=start + first - timedelta(seconds=1)) == 0
    assert await dispatch(db, key, now=start + first) == 1
    [delivery] = await deliveries_of(db, endpoint_id)
    assert (delivery.attempts, delivery.last_status_code) == (2, 503)
    assert delivery.next_attempt_at == start + first + second

    assert await dispatch(db, key, now=start + first + second) == 1
    [delivery] = await deliveries_of(db, endpoint_id)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("succeeded", 3, None)
    requests = receiver.on("flaky")
    assert len(requests) == 3
    assert {r.headers["webhook-id"] for r in requests} == {str(message.event_id)}
    assert verifies(secret, requests[-1])
    assert (await endpoint_row(db, endpoint_id)).failing_since is None


async def test_a_delivery_is_given_up_after_about_three_days(
    sessions: Sessions, key: DataKey, receiver: Receiver
) -> None:
    # Two deliveries per pass are recorded concurrently: this needs several connections.
    start = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    org, endpoint_id, _ = await local_endpoint(sessions, key, receiver.url("picky"), now=start)
    bad = event(org, occurred_at=start)
    receiver.refuse("picky", bad.event_id)
    await emit(sessions, bad, now=start)
    await dispatch(sessions, key, now=start)
    at = start
    for delay in retries.RETRY_DELAYS:
        at += delay
        # The receiver keeps taking other events, so the endpoint is not failing as a whole.
        await emit(sessions, event(org, occurred_at=at), now=at)
        assert await dispatch(sessions, key, now=at) == 2

    assert at - start == timedelta(hours=71, minutes=35, seconds=5)
    stored = {d.event_id: d for d in await deliveries_of(sessions, endpoint_id)}
    given_up = stored.pop(bad.event_id)
    assert (given_up.status, given_up.attempts) == ("failed", retries.MAX_ATTEMPTS)
    assert given_up.next_attempt_at is None
    assert given_up.last_status_code == 422
    assert {d.status for d in stored.values()} == {"succeeded"}
    assert (await endpoint_row(sessions, endpoint_id)).status == "active"
    assert (
        len([r for r in receiver.on("picky") if r.headers["webhook-id"] == str(bad.event_id)]) == 10
    )


async def test_410_gone_stops_for_good_and_disables_the_endpoint(
    db: Sessions, key: DataKey, receiver: Receiver
) -> None:
    now = wall_clock()
    org, endpoint_id, _ = await local_endpoint(db, key, receiver.url("gone"), now=now)
    receiver.answer("gone", 410)
    await emit(db, event(org, occurred_at=now), now=now)

    await dispatch(db, key, now=now)

    [delivery] = await deliveries_of(db, endpoint_id)
    assert (delivery.status, delivery.last_status_code, delivery.next_attempt_at) == (
        "gone",
        410,
        None,
    )
    stored = await endpoint_row(db, endpoint_id)
    assert stored.status == "disabled"
    assert stored.disabled_reason is not None and "410 Gone" in stored.disabled_reason
    assert await emit(db, event(org, occurred_at=now), now=now) == 0
    assert await dispatch(db, key, now=now + timedelta(days=3)) == 0
    assert len(receiver.on("gone")) == 1


async def test_sustained_failure_disables_the_endpoint_and_says_why(
    db: Sessions, key: DataKey, receiver: Receiver
) -> None:
    start = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    org, endpoint_id, _ = await local_endpoint(db, key, receiver.url("down"), now=start)
    receiver.answer("down", *[500] * 20)
    await emit(db, event(org, occurred_at=start), now=start)

    at = start
    await dispatch(db, key, now=at)
    for delay in retries.RETRY_DELAYS[:6]:
        at += delay
        assert await dispatch(db, key, now=at) == 1
    # Seven failed attempts over 17.5 hours: failing, not yet for a whole day.
    stored = await endpoint_row(db, endpoint_id)
    assert (stored.status, stored.failing_since) == ("active", start)

    at += retries.RETRY_DELAYS[6]
    assert await dispatch(db, key, now=at) == 1

    stored = await endpoint_row(db, endpoint_id)
    assert stored.status == "disabled"
    assert stored.disabled_reason is not None
    assert "every delivery has failed since" in stored.disabled_reason
    assert "8 failed attempts" in stored.disabled_reason
    [delivery] = await deliveries_of(db, endpoint_id)
    assert (delivery.status, delivery.attempts) == ("pending", 8)
    assert await dispatch(db, key, now=at + timedelta(days=2)) == 0

    enable = UpdateWebhookEndpoint(
        organization_id=org, actor="key-admin", endpoint_id=endpoint_id, enabled=True
    )
    assert (await run(db, lambda s: service.update_endpoint(s, enable, now=at))).ok
    stored = await endpoint_row(db, endpoint_id)
    assert (stored.status, stored.disabled_reason, stored.failing_since) == ("active", None, None)
    receiver.reset()
    assert await dispatch(db, key, now=at + timedelta(days=2)) == 1
    [delivery] = await deliveries_of(db, endpoint_id)
    assert delivery.status == "succeeded"


async def test_redelivery_sends_a_logged_delivery_again_with_the_same_id(
    db: Sessions, key: DataKey, receiver: Receiver
) -> None:
    now = wall_clock()
    org, endpoint_id, secret = await local_endpoint(db, key, receiver.url("again"), now=now)
    other = await organization(db)
    message = event(org, occurred_at=now)
    await emit(db, message, now=now)
    await dispatch(db, key, now=now)
    [delivery] = await deliveries_of(db, endpoint_id)
    assert delivery.status == "succeeded"

    stranger = RedeliverWebhook(organization_id=other, actor="key-x", delivery_id=delivery.id)
    owner = RedeliverWebhook(organization_id=org, actor="key-admin", delivery_id=delivery.id)
    foreign = await run(db, lambda s: service.redeliver(s, stranger, now=now))
    answer = await run(db, lambda s: service.redeliver(s, owner, now=now))
    assert foreign.error is not None and foreign.error.code == "NotFound"
    assert answer.ok
    assert answer.data["delivery"]["status"] == "pending"

    assert await dispatch(db, key, now=now) == 1
    first, second = receiver.on("again")
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == str(message.event_id)
    assert verifies(secret, second)
    [delivery] = await deliveries_of(db, endpoint_id)
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)


async def test_a_destination_is_checked_again_before_each_delivery(
    db: Sessions, key: DataKey, receiver: Receiver
) -> None:
    now = wall_clock()
    org, endpoint_id, _ = await local_endpoint(db, key, receiver.url("inside"), now=now)
    await emit(db, event(org, occurred_at=now), now=now)

    # The operator has taken the network off the list since the endpoint was saved.
    await dispatch(db, key, now=now, private=NO_PRIVATE_NETWORKS)

    assert receiver.on("inside") == []
    [delivery] = await deliveries_of(db, endpoint_id)
    assert (delivery.status, delivery.last_status_code) == ("pending", None)
    assert delivery.last_error is not None and "private or reserved" in delivery.last_error


async def test_a_name_pointing_inside_is_refused_at_send_time(receiver: Receiver) -> None:
    port = receiver.base_url.rsplit(":", 1)[1]
    inside = attempt(f"https://localhost:{port}/inside")
    async with new_client() as client:
        answer = await send(client, inside, now=wall_clock())

    assert answer.status_code is None
    assert answer.error is not None and "private or reserved address" in answer.error
    assert receiver.on("inside") == []


async def test_a_chat_bot_delivery_is_judged_by_the_platform_answer(
    db: Sessions, key: DataKey, receiver: Receiver
) -> None:
    now = wall_clock()
    org = await organization(db)
    created = await try_create(
        db,
        key,
        org,
        receiver.url("wecom"),
        now=now,
        kind=EndpointKind.WECOM,
        event_types=(EventType.INCIDENT_OPENED,),
    )
    assert created.ok and "secret" not in created.data
    endpoint_id = uuid.UUID(created.data["endpoint"]["id"])
    receiver.answer("wecom", 200, body=b'{"errcode":93000,"errmsg":"invalid webhook url"}')
    receiver.answer("wecom", 200, body=b'{"errcode":0,"errmsg":"ok"}')
    await emit(db, event(org, occurred_at=now), now=now)

    await dispatch(db, key, now=now)
    [delivery] = await deliveries_of(db, endpoint_id)
    assert delivery.status == "pending"
    assert delivery.last_error == "the platform refused the message: errcode 93000"
    await dispatch(db, key, now=now + retries.RETRY_DELAYS[0])

    [delivery] = await deliveries_of(db, endpoint_id)
    assert delivery.status == "succeeded"
    first, _ = receiver.on("wecom")
    body = json.loads(first.body)
    assert body["msgtype"] == "markdown"
    assert "webhook-signature" not in first.headers


def test_a_stored_summary_this_version_cannot_read_leaves_the_event_fields() -> None:
    stored = attempt(
        WECOM_URL,
        kind=EndpointKind.WECOM,
        data={"title": "「奶粉」中度舆情危机", "incident": {"id": "not an id"}},
    )

    rebuilt = event_of(stored)

    assert rebuilt.payload == {"title": "「奶粉」中度舆情危机"}


async def test_a_delivery_that_cannot_be_built_is_a_failed_attempt_not_an_error() -> None:
    # A type this version does not know.
    unknown = attempt(WECOM_URL, kind=EndpointKind.WECOM, event_type="incident.renamed")
    async with new_client() as client:
        answer = await send(client, unknown, now=wall_clock())

    assert answer.status_code is None
    assert answer.error is not None and answer.error.startswith("cannot build the request")
