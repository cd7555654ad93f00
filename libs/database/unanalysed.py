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

from sqlalchemy import ColumnElement, DateTime, func, select, union_all
from sqlmodel import col

from libs.database.tables import Mention, MentionFailure

CHECK_MARGIN: Final = timedelta(minutes=10)
"""How far before its mark an organization's mentions may still be unchecked: an insert
transaction that took its `ingested_at` (the transaction's start) before the mark and
committed after it. Each statement is cut at `STATEMENT_TIMEOUT_INGEST_SECONDS` and a batch
is a handful of them."""


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
