"""Stage → commit → publish → announce: the one way every entry point changes state.

HTTP handlers, queue jobs and periodic loops all open a unit of work, let service code
stage rows, messages and live notices in its session, and leave. On a clean exit the
transaction commits first; only then are the staged messages published from the outbox and
the notices announced, so nothing is ever announced that could still roll back. On an
error nothing is committed, published or announced.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import Message
from libs.contracts.outcome import Outcome
from libs.database.engine import transaction
from libs.database.tables import OutboxMessage
from libs.database.unanalysed import ensure_within
from libs.messaging import live, outbox


@dataclass
class Work:
    """One open unit of work: its session and the messages it will emit after commit."""

    session: AsyncSession
    messages: list[Message] = field(default_factory=list)

    def emit(self, *messages: Message) -> None:
        """Queue `messages` for publication once the unit of work commits."""
        self.messages.extend(messages)

    def apply(self, outcome: Outcome) -> Outcome:
        """Take an outcome's messages into this unit of work and hand the outcome back."""
        self.messages.extend(outcome.messages)
        return outcome


@asynccontextmanager
async def unit_of_work(
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    producer: str,
    *,
    within: timedelta | None = None,
) -> AsyncIterator[Work]:
    """Open a transaction; on success commit, then publish its messages and notices.

    With `within`, a transaction that has lasted longer by the database's clock is rolled
    back instead of committed (`TransactionTooLong`): what reads rows by the time their
    transaction began can then count on a bound (`libs.database.unanalysed.CHECK_MARGIN`).
    """
    staged: list[OutboxMessage]
    async with transaction(sessions) as session:
        work = Work(session)
        yield work
        staged = [outbox.add(session, producer, message) for message in work.messages]
        notices = live.take_staged(session)
        if within is not None:
            await ensure_within(session, within)
    await outbox.flush(sessions, redis, staged)
    await live.announce(redis, notices)
