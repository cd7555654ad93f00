"""Where a mention not analysed yet can be, found through indexes rather than by a search.

Ingest's reconciler gives a `mention_failure` row to every mention it finds neither
analysed nor tried, and records how far each organization is checked
(`organization.unanalysed_checked_until`); failure rows go only once the mention is
analysed. So a mention without an analysis is one stored since that mark (less
`CHECK_MARGIN`), or one with a failure row: a few minutes of mentions and a short table,
where "no analysis" alone is a condition no index holds, which at ten million mentions meant
reading them all to find none.
"""

import uuid
from datetime import timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, DateTime, func, select, text, union_all
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import Mention, MentionFailure

STORE_WITHIN: Final = timedelta(seconds=60)
"""How long a transaction that stores mentions may last: ingest asks the database just before
committing one (`ensure_within`) and refuses the request past it (503, nothing kept), so a
stored mention's `ingested_at` (its transaction's start) is never older than this when the
commit begins. A batch normally takes milliseconds."""

CHECK_MARGIN: Final = 2 * STORE_WITHIN
"""How far before its mark an organization's mentions may still be unchecked: an insert
transaction that took its `ingested_at` before the mark and committed after it. That is at
most `STORE_WITHIN` before its commit began, and the commit is left as long again.

Every read of "may lack an analysis" goes back this far (the reconciler's, the dashboards'
and the mention lists'), so it is as many minutes of mentions as these reads probe one by
one: ten minutes here had a dashboard at 40 mentions a second probe 24,000 of them."""


class TransactionTooLong(Exception):
    """A transaction storing mentions lasted past `STORE_WITHIN` and was not committed."""

    def __init__(self, lasted: timedelta, within: timedelta) -> None:
        super().__init__(
            f"the transaction lasted {lasted.total_seconds():.1f} s, "
            f"more than {within.total_seconds():.0f} s"
        )
        self.lasted = lasted
        self.within = within


async def ensure_within(session: AsyncSession, within: timedelta = STORE_WITHIN) -> None:
    """Raise `TransactionTooLong` if the session's transaction began more than `within` ago
    by the database's clock, the clock `ingested_at` is taken from."""
    lasted: timedelta = (await session.exec(_LASTED)).scalar_one()  # type: ignore[call-overload]
    if lasted > within:
        raise TransactionTooLong(lasted, within)


_LASTED = text("SELECT clock_timestamp() - now()")


def may_be_unanalysed(mention_id: Any, organization_id: uuid.UUID) -> ColumnElement[bool]:
    """`mention_id` is one of the organization's mentions that may lack an analysis.

    Every mention without one meets it; so do a few analysed ones (stored since the mark, or
    analysed after a failure), so a caller still asks for the missing analysis. An
    organization with no mark yet (new since migration 0029) has all its mentions here
    until the reconciler's first complete pass sets it.
    """
    stored = Mention.__table__.alias("unchecked_mention")  # type: ignore[attr-defined]
    # A function of migration 0031, not a subquery: the planner evaluates it while planning
    # and reads a few minutes of `ix_mention_org_ingested`, where it took a subquery's
    # unknown value for a third of the mentions and scanned them all.
    since = func.unanalysed_since(organization_id, CHECK_MARGIN, type_=DateTime(timezone=True))
    candidates = union_all(
        select(stored.c.id).where(
            stored.c.organization_id == organization_id, stored.c.ingested_at >= since
        ),
        select(col(MentionFailure.mention_id)).where(
            col(MentionFailure.organization_id) == organization_id
        ),
    )
    return col(mention_id).in_(candidates)
