"""The messaging harness on real PostgreSQL and Redis: outbox, receipts, commands."""

import uuid
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import CommandResult, CreateWatchlist, MentionIngested
from libs.database.engine import transaction
from libs.database.tables import MessageReceipt, OutboxMessage
from libs.messaging import outbox, readiness
from libs.messaging.publisher import CommandTimeout, call
from libs.messaging.receipts import AlreadyHandled, claim
from libs.messaging.worker import Outcome, Route, Runtime, build_worker
from tests.builders import make_tenant
from tests.fixtures.servers import Servers


async def test_outbox_message_is_published_only_after_commit(
    sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions)
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


async def test_relay_publishes_what_a_crash_left_behind(
    sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions)
    message = MentionIngested(organization_id=tenant.org.id, mention_ids=[uuid.uuid4()])
    async with transaction(sessions) as session:
        outbox.add(session, "test", message)
    # No flush: the process "died" after commit.
    assert await outbox.relay_once(sessions, redis, "test", older_than=_zero()) == 1
    assert await redis.zcard(MentionIngested.QUEUE) == 1
    assert await outbox.relay_once(sessions, redis, "test", older_than=_zero()) == 0


async def test_second_claim_of_a_message_is_refused_with_the_first_result(
    sessions: async_sessionmaker[AsyncSession],
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
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions)
    calls: list[str] = []

    async def handle(runtime: Runtime, session: AsyncSession, command: CreateWatchlist) -> Outcome:
        calls.append(command.name)
        return Outcome(result=CommandResult.success(name=command.name))

    worker = build_worker(
        consumer="test-analysis",
        queue=CreateWatchlist.QUEUE,
        routes=[Route(CreateWatchlist, handle)],
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        handle_signals=False,
        burst=True,
    )
    command = CreateWatchlist(
        organization_id=tenant.org.id, actor="test", name="奶粉", keywords=["奶粉"]
    )
    await redis.enqueue_job(
        command.job_name(),
        command.model_dump(mode="json"),
        _job_id=str(command.message_id),
        _queue_name=command.QUEUE,
    )
    await worker.main()
    await worker.close()
    result = await call(redis, command, timeout=2)  # already answered: replays the result
    assert result.ok and result.data == {"name": "奶粉"}
    assert calls == ["奶粉"]
    async with sessions() as session:
        count = await session.exec(select(func.count()).select_from(MessageReceipt))  # type: ignore[call-overload]
        assert count.scalar_one() == 1


async def test_command_without_a_worker_times_out(
    sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions)
    command = CreateWatchlist(organization_id=tenant.org.id, actor="t", name="a", keywords=["a"])
    try:
        await call(redis, command, timeout=0.3)
    except CommandTimeout:
        return
    raise AssertionError("call returned without a worker")


def _zero() -> Any:
    from datetime import timedelta

    return timedelta(0)


async def test_a_command_whose_handler_fails_answers_internal_and_changes_nothing(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions)

    async def broken(runtime: Runtime, session: AsyncSession, command: CreateWatchlist) -> Outcome:
        raise ValueError("a bug in the handler")

    worker = build_worker(
        consumer="test-analysis",
        queue=CreateWatchlist.QUEUE,
        routes=[Route(CreateWatchlist, broken)],
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        handle_signals=False,
        burst=True,
    )
    command = CreateWatchlist(organization_id=tenant.org.id, actor="t", name="a", keywords=["a"])
    await redis.enqueue_job(
        command.job_name(),
        command.model_dump(mode="json"),
        _job_id=str(command.message_id),
        _queue_name=command.QUEUE,
    )
    await worker.main()
    await worker.close()
    result = await call(redis, command, timeout=2)
    assert not result.ok and result.error is not None
    assert result.error.code == "Internal"
    async with sessions() as session:
        count = await session.exec(select(func.count()).select_from(MessageReceipt))  # type: ignore[call-overload]
        assert count.scalar_one() == 0


async def test_readiness_marks_are_cleared_and_awaited(servers: Servers, redis: ArqRedis) -> None:
    await readiness.mark_ready(redis, "analysis")
    await readiness.clear(servers.redis_url, ["analysis", "incidents"])
    missing = await readiness.wait_ready(servers.redis_url, ["analysis", "incidents"], 0.3)
    assert missing == ["analysis", "incidents"]
    await readiness.mark_ready(redis, "incidents")
    await readiness.mark_ready(redis, "analysis")
    assert await readiness.wait_ready(servers.redis_url, ["analysis", "incidents"], 0.3) == []


def test_deadlocks_and_serialization_failures_are_retried_not_failed() -> None:
    from sqlalchemy.exc import DBAPIError

    from libs.messaging.worker import _transient

    class Driver(Exception):
        def __init__(self, sqlstate: str) -> None:
            super().__init__(sqlstate)
            self.sqlstate = sqlstate

    def error(sqlstate: str) -> DBAPIError:
        return DBAPIError("UPDATE story …", {}, Driver(sqlstate))

    assert _transient(error("40P01")) and _transient(error("40001"))
    assert not _transient(error("23505")) and not _transient(error("42601"))
