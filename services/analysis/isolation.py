"""A mention that breaks analysis fails alone, not the batch of a thousand it came in.

Analysing a batch runs in a savepoint. If it raises for a reason retrying cannot fix (a
bug the mention's data sets off; `libs.messaging.failures.is_transient` says which), the
savepoint is rolled back and each half is analysed again on its own, down to single
mentions: every good mention is analysed, and each one that fails by itself is returned
with its error, for the caller to record. One bad mention among 1000 costs about ten
failed tries and 2000 mention analyses instead of a dead letter for all 1000.

An outage (or a timeout, which cancels) is not split: it propagates, so the whole message
is rolled back and retried as before. A failed try leaves nothing behind: its rows go with
the savepoint, its live notices are dropped, and the caller keeps only the results of the
tries that succeeded (so no message of a failed try is emitted).
"""

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.messaging import live
from libs.messaging.failures import is_transient

log = logging.getLogger(__name__)

T = TypeVar("T")

Attempt = Callable[[Sequence[uuid.UUID]], Awaitable[T]]


@dataclass
class Isolated(Generic[T]):
    """The results of the tries that succeeded, and each mention that failed alone."""

    done: list[T] = field(default_factory=list)
    failed: dict[uuid.UUID, BaseException] = field(default_factory=dict)


async def isolate(
    session: AsyncSession, mention_ids: Sequence[uuid.UUID], attempt: Attempt[T]
) -> Isolated[T]:
    """Run `attempt` over `mention_ids`, splitting on faults until each failure is one mention."""
    isolated: Isolated[T] = Isolated()
    await _split(session, list(mention_ids), attempt, isolated)
    return isolated


async def _split(
    session: AsyncSession, ids: list[uuid.UUID], attempt: Attempt[T], into: Isolated[T]
) -> None:
    try:
        into.done.append(await _in_savepoint(session, ids, attempt))
    except Exception as exc:
        if is_transient(exc):
            raise
        if len(ids) == 1:
            log.warning("mention %s failed analysis on its own", ids[0], exc_info=exc)
            into.failed[ids[0]] = exc
            return
        half = len(ids) // 2
        await _split(session, ids[:half], attempt, into)
        await _split(session, ids[half:], attempt, into)


async def _in_savepoint(session: AsyncSession, ids: list[uuid.UUID], attempt: Attempt[T]) -> T:
    """Run one try in a savepoint; on a fault roll back its rows and drop its notices."""
    earlier = live.take_staged(session)
    savepoint = await session.begin_nested()
    try:
        result = await attempt(ids)
        await savepoint.commit()
    except Exception as exc:
        live.take_staged(session)
        _restage(session, earlier)
        if not is_transient(exc):
            # A fault leaves the transaction usable once its savepoint is gone; after an
            # outage the whole transaction rolls back anyway.
            await savepoint.rollback()
        raise
    _restage(session, [*earlier, *live.take_staged(session)])
    return result


def _restage(session: AsyncSession, notices: list[live.Notice]) -> None:
    for notice in notices:
        live.stage(session, notice)
