"""The messaging harness on real PostgreSQL and Redis: outbox, receipts, commands."""

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from arq.connections import ArqRedis
from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import CommandResult, CreateWatchlist, MentionIngested
from libs.database.engine import transaction
from libs.database.tables import DeadLetter, MessageReceipt, OutboxMessage
from libs.database.unanalysed import TransactionTooLong
from libs.messaging import dead_letters, outbox, readiness
from libs.messaging.publisher import CommandTimeout, call, publish
from libs.messaging.receipts import AlreadyHandled, claim
from libs.messaging.unit_of_work import unit_of_work
from libs.messaging.worker import MAX_TIMEOUTS, Outcome, Route, Runtime, WorkerSpec
from libs.settings import Settings
from tests.builders import Sessions, Tenant, make_tenant
from tests.fixtures.servers import Servers


@pytest_asyncio.fixture
async def tenant(sessions: Sessions) -> Tenant:
    """The organization a test's messages are sent for."""
    return await make_tenant(sessions)


async def test_outbox_message_is_published_only_after_commit(
    sessions: Sessions, redis: ArqRedis, tenant: Tenant
) -> None:
    message = MentionIngested(organization_id=tenant.org.id, mention_ids=[uuid.uuid4()])
    try:
        async with transaction(sessions) as session:
            outbox.add(session, "test", message)
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert await outbox.relay_once(sessions, redis, "test", older_than=_zero()) == 0
    assert await redis.zcard(MentionIngested.QUEUE) == 0

    async with transaction(sessions) as session:
        row = outbox.add(session, "test", message)
    await outbox.flush(sessions, redis, [row])
    assert await redis.zcard(MentionIngested.QUEUE) == 1
    async with sessions() as session:
        stored = await session.get(OutboxMessage, message.message_id)
        assert stored is not None and stored.published_at is not None


async def test_a_unit_of_work_past_its_bound_commits_and_publishes_nothing(
    sessions: Sessions, redis: ArqRedis, tenant: Tenant
) -> None:
    late = MentionIngested(organization_id=tenant.org.id, mention_ids=[uuid.uuid4()])
    with pytest.raises(TransactionTooLong) as refused:
        async with unit_of_work(
            sessions, redis, "test", within=timedelta(milliseconds=200)
        ) as work:
            await work.session.exec(select(func.pg_sleep(0.4)))  # type: ignore[call-overload]
            work.emit(late)
    assert refused.value.lasted >= timedelta(milliseconds=400)
    async with sessions() as session:
        assert await session.get(OutboxMessage, late.message_id) is None
    assert await redis.zcard(MentionIngested.QUEUE) == 0

    prompt = MentionIngested(organization_id=tenant.org.id, mention_ids=[uuid.uuid4()])
    async with unit_of_work(sessions, redis, "test", within=timedelta(seconds=30)) as work:
        await work.session.exec(select(func.pg_sleep(0.4)))  # type: ignore[call-overload]
        work.emit(prompt)
    assert await redis.zcard(MentionIngested.QUEUE) == 1


async def test_relay_publishes_what_a_crash_left_behind(
    sessions: Sessions, redis: ArqRedis, tenant: Tenant
) -> None:
    message = MentionIngested(organization_id=tenant.org.id, mention_ids=[uuid.uuid4()])
    async with transaction(sessions) as session:
        outbox.add(session, "test", message)
    # No flush: the process "died" after commit.
    assert await outbox.relay_once(sessions, redis, "test", older_than=_zero()) == 1
    assert await redis.zcard(MentionIngested.QUEUE) == 1
    assert await outbox.relay_once(sessions, redis, "test", older_than=_zero()) == 0


async def test_second_claim_of_a_message_is_refused_with_the_first_result(
    sessions: Sessions,
) -> None:
    message_id = uuid.uuid4()
    async with transaction(sessions) as session:
        await claim(session, "c", message_id, "x.v1")
        receipt = await session.get(MessageReceipt, ("c", message_id))
        assert receipt is not None
        receipt.result = {"ok": True}
    async with transaction(sessions) as session:
        try:
            await claim(session, "c", message_id, "x.v1")
        except AlreadyHandled as replay:
            assert replay.result == {"ok": True}
        else:
            raise AssertionError("second claim was accepted")


async def test_command_round_trip_through_a_real_worker_is_idempotent(
    servers: Servers, sessions: Sessions, redis: ArqRedis, tenant: Tenant
) -> None:
    calls: list[str] = []

    async def handle(runtime: Runtime, session: AsyncSession, command: CreateWatchlist) -> Outcome:
        calls.append(command.name)
        return Outcome(result=CommandResult.success(name=command.name))

    command = CreateWatchlist(
        organization_id=tenant.org.id, actor="test", name="奶粉", keywords=["奶粉"]
    )
    await publish(redis, command)
    await _drain(servers, "test-analysis", Route(CreateWatchlist, handle))
    # Redis forgets the answer (a restart, an expiry) and the command is delivered again:
    # the receipt, not Redis, keeps the handler from running twice.
    await redis.delete(f"arq:result:{command.message_id}")
    await publish(redis, command)
    await _drain(servers, "test-analysis", Route(CreateWatchlist, handle))
    result = await call(redis, command, timeout=2)  # answered twice, applied once
    assert result.ok and result.data == {"name": "奶粉"}
    assert calls == ["奶粉"]
    async with sessions() as session:
        count = await session.exec(select(func.count()).select_from(MessageReceipt))  # type: ignore[call-overload]
        assert count.scalar_one() == 1


async def test_command_without_a_worker_times_out(redis: ArqRedis, tenant: Tenant) -> None:
    command = CreateWatchlist(organization_id=tenant.org.id, actor="t", name="a", keywords=["a"])
    try:
        await call(redis, command, timeout=0.3)
    except CommandTimeout:
        return
    raise AssertionError("call returned without a worker")


def _zero() -> Any:
    from datetime import timedelta

    return timedelta(0)


async def test_a_command_whose_handler_fails_answers_internal_and_is_kept(
    servers: Servers, sessions: Sessions, redis: ArqRedis, tenant: Tenant
) -> None:

    async def broken(runtime: Runtime, session: AsyncSession, command: CreateWatchlist) -> Outcome:
        raise ValueError("a bug in the handler")

    command = CreateWatchlist(organization_id=tenant.org.id, actor="t", name="a", keywords=["a"])
    await publish(redis, command)
    await _drain(servers, "test-analysis", Route(CreateWatchlist, broken))
    result = await call(redis, command, timeout=2)
    assert not result.ok and result.error is not None
    assert result.error.code == "Internal"
    async with sessions() as session:
        count = await session.exec(select(func.count()).select_from(MessageReceipt))  # type: ignore[call-overload]
        assert count.scalar_one() == 0
        kept = await dead_letters.pending(session)
    assert [letter.message_id for letter in kept] == [command.message_id]


async def test_readiness_marks_are_cleared_and_awaited(servers: Servers, redis: ArqRedis) -> None:
    await readiness.mark_ready(redis, "analysis")
    await readiness.clear(servers.redis_url, ["analysis", "incidents"])
    missing = await readiness.wait_ready(servers.redis_url, ["analysis", "incidents"], 0.3)
    assert missing == ["analysis", "incidents"]
    await readiness.mark_ready(redis, "incidents")
    await readiness.mark_ready(redis, "analysis")
    assert await readiness.wait_ready(servers.redis_url, ["analysis", "incidents"], 0.3) == []


@pytest.mark.parametrize(
    ("sqlstate", "transient"),
    [
        ("40P01", True),  # deadlock
        ("40001", True),  # serialization failure
        ("57P01", True),  # admin shutdown
        ("57P03", True),  # the database system is starting up
        ("53300", True),  # too many clients
        ("08006", True),  # connection failure
        ("08001", True),  # cannot establish a connection
        ("23505", False),  # unique violation: a fault in the data
        ("42601", False),  # syntax error: a fault in the code
        ("22P02", False),  # invalid text representation
    ],
)
def test_outages_and_conflicts_are_retried_faults_are_not(sqlstate: str, transient: bool) -> None:
    from sqlalchemy.exc import DBAPIError

    from libs.messaging.failures import is_transient

    class Driver(Exception):
        def __init__(self, sqlstate: str) -> None:
            super().__init__(sqlstate)
            self.sqlstate = sqlstate

    assert is_transient(DBAPIError("UPDATE story …", {}, Driver(sqlstate))) is transient
    assert is_transient(Driver(sqlstate)) is transient


def test_lost_connections_are_transient_and_bugs_are_not() -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    from libs.messaging.failures import is_transient

    assert is_transient(ConnectionRefusedError())
    assert is_transient(RedisConnectionError("Connection reset by peer"))
    assert not is_transient(ValueError("a bug"))
    assert not is_transient(KeyError("missing"))


def test_backoff_grows_to_a_cap_with_jitter() -> None:
    import random

    from libs.messaging.failures import BACKOFF_CAP_SECONDS, backoff

    rng = random.Random(7)
    first = [backoff(1, rng=rng) for _ in range(50)]
    late = [backoff(40, rng=rng) for _ in range(50)]
    assert all(0.25 <= wait <= 0.5 for wait in first)
    assert all(BACKOFF_CAP_SECONDS / 2 <= wait <= BACKOFF_CAP_SECONDS for wait in late)
    # The last tries of a long outage still get a wait, not an overflow.
    assert BACKOFF_CAP_SECONDS / 2 <= backoff(10_000, rng=rng) <= BACKOFF_CAP_SECONDS
    assert len(set(late)) > 40  # jittered, not one instant for every job


async def test_a_failing_event_becomes_a_dead_letter_and_is_redriven_once_fixed(
    servers: Servers, sessions: Sessions, redis: ArqRedis, tenant: Tenant
) -> None:
    applied: list[uuid.UUID] = []
    broken = True

    async def handle(runtime: Runtime, session: AsyncSession, event: MentionIngested) -> Outcome:
        if broken:
            raise ValueError("cannot analyse this batch")
        applied.append(event.message_id)
        return Outcome()

    event = MentionIngested(organization_id=tenant.org.id, mention_ids=[uuid.uuid4()])
    await publish(redis, event)
    await _drain(servers, "test-dead", Route(MentionIngested, handle))
    async with sessions() as session:
        kept = await dead_letters.pending(session, consumer="test-dead")
    assert [(letter.message_id, letter.job_name) for letter in kept] == [
        (event.message_id, "mention.ingested.v1")
    ]
    assert "ValueError: cannot analyse this batch" in kept[0].error
    assert kept[0].organization_id == tenant.org.id and applied == []

    broken = False
    assert await dead_letters.redrive(sessions, redis, event.message_id) == 1
    await _drain(servers, "test-dead", Route(MentionIngested, handle))
    assert applied == [event.message_id]
    async with sessions() as session:
        assert await dead_letters.pending(session) == []
        letter = await session.get(DeadLetter, ("test-dead", event.message_id))
        assert letter is not None and letter.redriven_at is not None


async def _drain(servers: Servers, consumer: str, route: Route[Runtime, Any]) -> None:
    """Run a burst worker with the one `route` as `consumer` until its queue is empty."""
    settings = Settings(database_url=servers.database_url, redis_url=servers.redis_url)
    worker = WorkerSpec(consumer, route.message.QUEUE, [route]).build(
        settings, handle_signals=False, burst=True
    )
    await worker.main()
    await worker.close()


async def test_a_handler_that_keeps_timing_out_is_retried_then_kept(
    servers: Servers, sessions: Sessions, redis: ArqRedis, tenant: Tenant
) -> None:
    tries: list[int] = []

    async def stuck(runtime: Runtime, session: AsyncSession, event: MentionIngested) -> Outcome:
        tries.append(1)
        await asyncio.sleep(5)
        return Outcome()

    event = MentionIngested(organization_id=tenant.org.id, mention_ids=[uuid.uuid4()])
    await publish(redis, event)
    await _drain(servers, "test-stuck", Route(MentionIngested, stuck, timeout=0.2))
    assert len(tries) == MAX_TIMEOUTS
    async with sessions() as session:
        [kept] = await dead_letters.pending(session, consumer="test-stuck")
    assert kept.message_id == event.message_id
    assert kept.error.startswith(f"gave up after {MAX_TIMEOUTS} tries: TimeoutError")


async def test_tries_spent_on_outages_do_not_count_as_time_outs(
    servers: Servers, sessions: Sessions, redis: ArqRedis, tenant: Tenant
) -> None:
    tries: list[str] = []

    async def flaky(runtime: Runtime, session: AsyncSession, event: MentionIngested) -> Outcome:
        # Two outages, then one slow try, then it goes through: never stuck on its input.
        tries.append("try")
        if len(tries) <= MAX_TIMEOUTS - 1:
            raise ConnectionRefusedError("the database is restarting")
        if len(tries) == MAX_TIMEOUTS:
            await asyncio.sleep(5)
        return Outcome()

    event = MentionIngested(organization_id=tenant.org.id, mention_ids=[uuid.uuid4()])
    await publish(redis, event)
    await _drain(servers, "test-flaky", Route(MentionIngested, flaky, timeout=0.5))
    assert len(tries) == MAX_TIMEOUTS + 1
    async with sessions() as session:
        assert await dead_letters.pending(session, consumer="test-flaky") == []
        assert await session.get(MessageReceipt, ("test-flaky", event.message_id)) is not None


async def test_a_malformed_message_without_an_id_is_still_kept(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    async def never(runtime: Runtime, session: AsyncSession, event: MentionIngested) -> Outcome:
        raise AssertionError("a malformed message reached its handler")

    garbage = {"organization_id": "not-a-uuid", "mention_ids": []}
    await redis.enqueue_job(
        MentionIngested.job_name(), garbage, _job_id="garbage-1", _queue_name=MentionIngested.QUEUE
    )
    await _drain(servers, "test-malformed", Route(MentionIngested, never))
    async with sessions() as session:
        [kept] = await dead_letters.pending(session, consumer="test-malformed")
    assert kept.payload == garbage and kept.organization_id is None
    assert kept.error.startswith("malformed:")
