"""Watchlists and lexicon changes: what analysis is configured with, tier state, commands."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import SensitiveCategory, Tier
from libs.database.owned import owned
from libs.database.tables import Drill, RiskSignal, SensitiveTerm, Watchlist
from libs.database.upsert import incoming
from libs.ids import new_id
from services.analysis.analyzer import OrgConfig, WatchlistSpec
from services.analysis.sensitive import TermOverride


async def org_config(session: AsyncSession, organization_id: uuid.UUID) -> OrgConfig:
    """Load what analysis of this organization depends on: rules and lexicon changes."""
    watchlists = await session.exec(
        select(Watchlist.id, Watchlist.query, Watchlist.keywords)
        .where(Watchlist.organization_id == organization_id)
        .order_by(col(Watchlist.id))
    )
    terms = await session.exec(
        select(SensitiveTerm.term, SensitiveTerm.category, SensitiveTerm.weight)
        .where(SensitiveTerm.organization_id == organization_id)
        .order_by(col(SensitiveTerm.term))
    )
    return OrgConfig(
        watchlists=tuple(WatchlistSpec(id=i, query=q, keywords=tuple(k)) for i, q, k in watchlists),
        overrides=tuple(
            TermOverride(term=t, category=SensitiveCategory(c), weight=w) for t, c, w in terms
        ),
    )


async def drill_watchlists(
    session: AsyncSession, organization_id: uuid.UUID
) -> dict[uuid.UUID, uuid.UUID]:
    """Return the organization's drills' watchlists by drill: only its mentions reach each."""
    found = await session.exec(
        select(Drill.id, Drill.watchlist_id).where(Drill.organization_id == organization_id)
    )
    return dict(found.all())


async def lock_watchlists(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Watchlist]:
    """Lock watchlists whose tier is about to be decided, in id order to avoid deadlocks.

    Two batches for the same watchlist then decide one after the other, and the second
    reads the tier (and the analyses) the first committed. The lock is the one an update
    that changes no key takes (FOR NO KEY UPDATE): the hits a concurrent batch inserts
    share-lock the watchlist only against key changes, so they are stored without waiting
    for a decision; the decision does not see them, and their own batch decides after.
    """
    if not ids:
        return []
    result = await session.exec(
        select(Watchlist)
        .where(col(Watchlist.id).in_(ids))
        .order_by(col(Watchlist.id))
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    return list(result.all())


async def record_spike(
    session: AsyncSession, watchlist_id: uuid.UUID, at: datetime, count: int
) -> None:
    """Remember the last spike, so the next one waits out the cooldown."""
    await session.exec(
        update(Watchlist)
        .where(col(Watchlist.id) == watchlist_id)
        .values(last_spike_at=at, last_spike_count=count)
    )


def record_tier_change(
    session: AsyncSession, watchlist: Watchlist, signal: RiskSignal, tier: Tier | None, at: datetime
) -> None:
    """Store the signal of a tier change and the watchlist's new tier."""
    session.add(signal)
    watchlist.current_tier = tier.value if tier else None
    watchlist.tier_changed_at = at
    session.add(watchlist)


def mark_decision_due(session: AsyncSession, watchlist: Watchlist, at: datetime | None) -> None:
    """Store when the locked watchlist's waiting decision is due (None: no decision waits)."""
    watchlist.decision_due_at = at
    session.add(watchlist)


async def insert_watchlist(
    session: AsyncSession,
    organization_id: uuid.UUID,
    name: str,
    keywords: list[str],
    query: str,
    now: datetime,
    kind: str = "own_brand",
) -> Watchlist | None:
    """Insert a watchlist; return None when the organization already has one of that name."""
    watchlist = Watchlist(
        id=new_id(),
        organization_id=organization_id,
        name=name,
        keywords=keywords,
        query=query,
        kind=kind,
        created_at=now,
        updated_at=now,
    )
    # ON CONFLICT rather than a prior lookup: two concurrent creations cannot both win.
    result = await session.exec(
        insert(Watchlist)
        .values(watchlist.model_dump())
        .on_conflict_do_nothing(index_elements=["organization_id", "name"])
        .returning(col(Watchlist.id))
    )
    return watchlist if result.first() is not None else None


async def watchlist_for_update(
    session: AsyncSession, organization_id: uuid.UUID, watchlist_id: uuid.UUID, *, renaming: bool
) -> Watchlist | None:
    """Load and lock the organization's watchlist, or None when it has no such watchlist.

    Analysis batches hold the watchlists they store hits for in FOR KEY SHARE (the hits'
    foreign key) without queueing, so an edit waiting for FOR UPDATE could be passed by
    batch after batch while a crisis keeps them overlapping. An edit that keeps the name
    (its unique key) takes FOR NO KEY UPDATE, which those do not hold off; a rename must
    lock the key from the start, since raising the lock later could deadlock with a batch.
    """
    return await owned(
        session, Watchlist, organization_id, watchlist_id, lock=True, keys_kept=not renaming
    )


async def name_taken(
    session: AsyncSession, organization_id: uuid.UUID, name: str, *, other_than: uuid.UUID
) -> bool:
    """Return whether another of the organization's watchlists is called `name`."""
    result = await session.exec(
        select(Watchlist.id).where(
            Watchlist.organization_id == organization_id,
            Watchlist.name == name,
            col(Watchlist.id) != other_than,
        )
    )
    return result.first() is not None


async def upsert_sensitive_terms(
    session: AsyncSession,
    organization_id: uuid.UUID,
    overrides: Sequence[TermOverride],
    remove: Sequence[str],
    now: datetime,
) -> None:
    """Apply an organization's lexicon changes in two statements."""
    if remove:
        await session.exec(
            text("DELETE FROM sensitive_term WHERE organization_id = :org AND term = ANY(:terms)"),  # type: ignore[call-overload]
            params={"org": organization_id, "terms": list(remove)},
        )
    if overrides:
        statement = insert(SensitiveTerm).values(
            [
                SensitiveTerm(
                    id=new_id(),
                    organization_id=organization_id,
                    term=o.term,
                    category=o.category.value,
                    weight=o.weight,
                    updated_at=now,
                ).model_dump()
                for o in overrides
            ]
        )
        await session.exec(
            statement.on_conflict_do_update(
                index_elements=["organization_id", "term"],
                set_=incoming(statement, "category", "weight", "updated_at"),
            )
        )
