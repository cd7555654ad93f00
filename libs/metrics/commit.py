"""Count what a transaction did only once it committed.

A handler's try can roll back (an outage at commit, a timeout) and run again: counting in
the handler would count it twice. `after_commit` defers the count to the session's commit,
and a try that rolls back first counts nothing.
"""

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession


def after_commit(session: AsyncSession, action: Callable[[], None]) -> None:
    """Run `action` once, when `session`'s transaction commits; never if it rolls back first."""
    settled = False

    def committed(_: Session) -> None:
        nonlocal settled
        if not settled:
            settled = True
            action()

    def rolled_back(_: Session) -> None:
        nonlocal settled
        settled = True

    event.listen(session.sync_session, "after_commit", committed, once=True)
    event.listen(session.sync_session, "after_rollback", rolled_back, once=True)
