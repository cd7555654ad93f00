"""The SQL of mentions and their authors, whichever route stored them; never commits."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple, TypedDict

from sqlalchemy import String, cast, delete, exists, func, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import Author, Mention, MentionAnalysis, MentionFailure
from libs.database.tables.ingest import REASON_LIMIT
from libs.database.unanalysed import CHECK_MARGIN
from libs.database.upsert import incoming

Key = tuple[str, str]
"""(source, external_id) of a mention, or (source, handle) of an author."""


class AuthorRow(TypedDict):
    """An `author` row to insert or refresh."""

    id: uuid.UUID
    organization_id: uuid.UUID
    source: str
    handle: str
    followers: int
    verified: bool
    kind: str
    updated_at: datetime


class MentionRow(TypedDict):
    """A `mention` row to insert unless its (source, external_id) is stored already."""

    id: uuid.UUID
    organization_id: uuid.UUID
    source: str
    external_id: str
    text: str
    content_hash: str
    url: str | None
    posted_at: datetime
    author_id: uuid.UUID
    reposts: int
    comments: int
    likes: int
    views: int
    repost_of: str | None
    ingested_at: datetime
    drill_id: uuid.UUID | None


async def transaction_time(session: AsyncSession) -> datetime:
    """Return the database's time at the start of the session's transaction (`now()`)."""
    result = await session.exec(text("SELECT now()"))  # type: ignore[call-overload]
    moment: datetime = result.scalar_one()
    return moment


async def upsert_authors(session: AsyncSession, rows: list[AuthorRow]) -> dict[Key, uuid.UUID]:
    """Insert each author or refresh its counts and kind; return the ids by (source, handle)."""
    statement = insert(Author)
    upsert = statement.on_conflict_do_update(
        index_elements=["organization_id", "source", "handle"],
        set_=incoming(statement, "followers", "verified", "kind", "updated_at"),
    ).returning(col(Author.source), col(Author.handle), col(Author.id))
    connection = await session.connection()
    result = await connection.execute(upsert, rows)
    return {(s, h): i for s, h, i in result.all()}


async def insert_mentions(session: AsyncSession, rows: list[MentionRow]) -> dict[Key, uuid.UUID]:
    """Insert the mentions not stored yet; return the ids of those inserted now."""
    # Parameters go beside the statement (executemany), not inside it: SQLAlchemy then
    # caches one compiled statement and batches the rows itself, instead of compiling a
    # thousand-row VALUES clause on every request.
    connection = await session.connection()
    inserted = await connection.execute(
        insert(Mention)
        .on_conflict_do_nothing(index_elements=["organization_id", "source", "external_id"])
        .returning(col(Mention.source), col(Mention.external_id), col(Mention.id)),
        rows,
    )
    return {(s, e): i for s, e, i in inserted.all()}


async def mention_ids(
    session: AsyncSession, organization_id: uuid.UUID, keys: list[Key]
) -> dict[Key, uuid.UUID]:
    """Return the ids of this organization's mentions with these (source, external_id)."""
    existing = await session.exec(
        select(Mention.source, Mention.external_id, Mention.id).where(
            col(Mention.organization_id) == organization_id,
            tuple_(col(Mention.source), col(Mention.external_id)).in_(keys),
        )
    )
    return {(s, e): i for s, e, i in existing.all()}


async def mention_with_analysis(
    session: AsyncSession, organization_id: uuid.UUID, mention_id: uuid.UUID
) -> tuple[Mention, Author | None, MentionAnalysis | None] | None:
    """Return a mention of this organization with its author and analysis, or None."""
    result = await session.exec(
        select(Mention, Author, MentionAnalysis)
        .outerjoin(Author, col(Author.id) == col(Mention.author_id))
        .outerjoin(MentionAnalysis, col(MentionAnalysis.mention_id) == col(Mention.id))
        .where(col(Mention.id) == mention_id, col(Mention.organization_id) == organization_id)
    )
    row = result.first()
    if row is None:
        return None
    mention, author, analysis = row
    return mention, author, analysis


class Unanalysed(NamedTuple):
    """A stored mention with no analysis, and its failure row's count (0 and None if none)."""

    organization_id: uuid.UUID
    mention_id: uuid.UUID
    ingested_at: datetime
    tries: int
    last_failed_at: datetime | None


class TryRow(TypedDict):
    """A `mention_failure` row as one more try leaves it: `tries` is the try now counted."""

    mention_id: uuid.UUID
    organization_id: uuid.UUID
    tries: int
    reason: str
    first_failed_at: datetime
    last_failed_at: datetime


# Two reads, each newest first: mentions never tried, and tried ones now due again.
#
# A mention never tried can only be one stored since the organization's last complete pass
# (`organization.unanalysed_checked_until`): every pass gives a failure row to each it
# finds, and failure rows go only once the mention is analysed. So each organization's
# mentions are read from that mark, less `CHECK_MARGIN` for transactions that took their
# `ingested_at` before it and committed after, through `ix_mention_org_ingested`: a few
# minutes of mentions (the margin, the grace and a pass's interval), where reading them all
# took 6.4 s at ten million. An organization
# without a mark (new since migration 0029) is read whole once; its first complete pass
# sets the mark.
_MARKS = text("SELECT id, unanalysed_checked_until FROM organization ORDER BY id")
_NEVER_TRIED = text(
    """
    SELECT m.organization_id, m.id, m.ingested_at, 0, NULL::timestamptz
    FROM mention m
    WHERE m.organization_id = :organization_id
      AND m.ingested_at >= :since AND m.ingested_at < :stored_before
      AND NOT EXISTS (SELECT 1 FROM mention_analysis a WHERE a.mention_id = m.id)
      AND NOT EXISTS (SELECT 1 FROM mention_failure f WHERE f.mention_id = m.id)
    ORDER BY m.ingested_at DESC, m.id
    LIMIT :limit
    """
)
# The mark never passes the database's own clock less the grace: `ingested_at` is that
# clock's (`service.store_batch`), whatever this replica's clock says.
_ADVANCE = text(
    """
    UPDATE organization
    SET unanalysed_checked_until = least(:at, now() - make_interval(secs => :grace))
    WHERE id = :organization_id
      AND (unanalysed_checked_until IS NULL
           OR unanalysed_checked_until < least(:at, now() - make_interval(secs => :grace)))
    """
)
_EARLIEST = datetime.fromisoformat("0001-01-01T00:00:00+00:00")
# The wait after a mention's last try, capped; `service.retry_after` is the same in Python.
_DUE_AGAIN = text(
    """
    SELECT m.organization_id, m.id, m.ingested_at, f.tries, f.last_failed_at
    FROM mention_failure f
    JOIN mention m ON m.id = f.mention_id
    WHERE f.given_up_at IS NULL
      AND f.last_failed_at + make_interval(
            secs => least(:base * power(2, greatest(least(f.tries, 40) - 1, 0)), :cap)
          ) <= :now
      AND NOT EXISTS (SELECT 1 FROM mention_analysis a WHERE a.mention_id = m.id)
    ORDER BY m.ingested_at DESC, m.id
    LIMIT :limit
    """
)


@dataclass(frozen=True)
class Due:
    """The mentions a pass re-sends, and how far each organization is then checked."""

    mentions: list[Unanalysed]
    checked: dict[uuid.UUID, datetime]


async def due_unanalysed(
    session: AsyncSession,
    *,
    now: datetime,
    stored_before: datetime,
    base_seconds: float,
    cap_seconds: float,
    limit: int,
) -> Due:
    """Return unanalysed mentions stored before `stored_before` whose next try is due, newest first.

    A mention without a failure row is due at once; one with a row, once `base · 2^(tries-1)`
    seconds (at most `cap`) have passed since its last try; a given-up one never. Newest
    first, so the mentions that still matter go before old ones failing for good.

    `checked` names the organizations all of whose never-tried mentions are among those
    returned: once their tries are counted, `advance_checked` moves their marks to
    `stored_before`. One with more waits at its mark, and the next pass reads on from there.
    """
    marks = (await session.exec(_MARKS)).all()  # type: ignore[call-overload]
    never: list[Unanalysed] = []
    complete: set[uuid.UUID] = set()
    for organization_id, mark in marks:
        found = await session.exec(
            _NEVER_TRIED,  # type: ignore[call-overload]
            params={
                "organization_id": organization_id,
                "since": _EARLIEST if mark is None else mark - CHECK_MARGIN,
                "stored_before": stored_before,
                "limit": limit,
            },
        )
        rows = [Unanalysed(*row) for row in found.all()]
        never += rows
        if len(rows) < limit:
            complete.add(organization_id)
    again = await session.exec(
        _DUE_AGAIN,  # type: ignore[call-overload]
        params={"now": now, "base": base_seconds, "cap": cap_seconds, "limit": limit},
    )
    due = [*never, *(Unanalysed(*row) for row in again.all())]
    due.sort(key=lambda item: item.mention_id)
    due.sort(key=lambda item: item.ingested_at, reverse=True)
    kept, dropped = due[:limit], due[limit:]
    for item in dropped:
        if item.tries == 0:
            complete.discard(item.organization_id)  # left for the next pass: not checked
    return Due(kept, dict.fromkeys(sorted(complete), stored_before))


async def advance_checked(
    session: AsyncSession, checked: dict[uuid.UUID, datetime], grace: timedelta
) -> None:
    """Move each organization's mark forward to when its mentions were last all checked."""
    for organization_id, at in checked.items():
        await session.exec(
            _ADVANCE,  # type: ignore[call-overload]
            params={"organization_id": organization_id, "at": at, "grace": grace.total_seconds()},
        )


async def count_tries(session: AsyncSession, rows: list[TryRow]) -> set[uuid.UUID]:
    """Count one more try on each row; return the mentions whose try this call counted.

    A row whose count moved since it was read (another replica's pass, an analysis failure)
    or that was given up is left alone and not returned, so two passes that read the same
    rows count each try once and announce it once.
    """
    if not rows:
        return set()
    statement = insert(MentionFailure)
    upsert = statement.on_conflict_do_update(
        index_elements=["mention_id"],
        set_=incoming(statement, "tries", "reason", "last_failed_at"),
        where=(col(MentionFailure.tries) == statement.excluded.tries - 1)
        & col(MentionFailure.given_up_at).is_(None),
    ).returning(col(MentionFailure.mention_id))
    connection = await session.connection()
    # In id order, so two passes lock the same rows in the same order.
    result = await connection.execute(upsert, sorted(rows, key=lambda row: row["mention_id"]))
    return {mention_id for (mention_id,) in result.all()}


async def give_up(
    session: AsyncSession, mention_ids: list[uuid.UUID], max_tries: int, now: datetime
) -> list[tuple[uuid.UUID, str]]:
    """Mark these rows given up if they still have `max_tries` tries; return (id, reason)."""
    if not mention_ids:
        return []
    result = await session.exec(
        update(MentionFailure)
        .where(
            col(MentionFailure.mention_id).in_(mention_ids),
            col(MentionFailure.tries) >= max_tries,
            col(MentionFailure.given_up_at).is_(None),
        )
        .values(
            given_up_at=now,
            reason=func.left(
                "given up after "
                + cast(col(MentionFailure.tries), String)
                + " tries: "
                + col(MentionFailure.reason),
                REASON_LIMIT,
            ),
        )
        .returning(col(MentionFailure.mention_id), col(MentionFailure.reason))
    )
    return [(mention_id, reason) for mention_id, reason in result.all()]


async def forget_analysed_failures(session: AsyncSession) -> None:
    """Delete failure rows of mentions analysed since: a pass read them just before."""
    await session.exec(
        delete(MentionFailure).where(
            exists(
                select(MentionAnalysis.mention_id).where(
                    col(MentionAnalysis.mention_id) == col(MentionFailure.mention_id)
                )
            )
        )
    )


async def failures(
    session: AsyncSession,
    *,
    given_up_only: bool = False,
    organization_id: uuid.UUID | None = None,
    limit: int = 100,
) -> list[MentionFailure]:
    """Return mentions that need attention, most recently failed first."""
    query = select(MentionFailure)
    if given_up_only:
        query = query.where(col(MentionFailure.given_up_at).is_not(None))
    if organization_id is not None:
        query = query.where(col(MentionFailure.organization_id) == organization_id)
    rows = await session.exec(
        query.order_by(col(MentionFailure.last_failed_at).desc()).limit(limit)
    )
    return list(rows.all())


async def restart(
    session: AsyncSession,
    *,
    mention_ids: list[uuid.UUID] | None,
    now: datetime,
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Reset the tries of these failure rows (None: of every given-up one); return (org, id).

    Rows of mentions analysed meanwhile are left for the reconciler to delete.
    """
    query = update(MentionFailure).where(
        ~exists(
            select(MentionAnalysis.mention_id).where(
                col(MentionAnalysis.mention_id) == col(MentionFailure.mention_id)
            )
        )
    )
    if mention_ids is None:
        query = query.where(col(MentionFailure.given_up_at).is_not(None))
    else:
        query = query.where(col(MentionFailure.mention_id).in_(mention_ids))
    result = await session.exec(
        query.values(tries=0, given_up_at=None, last_failed_at=now).returning(
            col(MentionFailure.organization_id), col(MentionFailure.mention_id)
        )
    )
    return [(organization_id, mention_id) for organization_id, mention_id in result.all()]
