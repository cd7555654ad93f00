"""Storing mentions, which both routes do, and the reconciler's pass.

A mention is stored once per (source, external_id) in its organization, whichever route
brought it; `mention.ingested.v1` tells analysis about the new ones. The routes call the
façades of their parts (`mentions.service`, `complaints.service`), which store through
`store_batch` here; the reconciler calls `reconcile`, `crisiswatch jobs` `redrive_failed`.
A function that changes state returns its `Outcome` (the messages to emit once the
caller's unit of work commits); `store_batch` is the step those façades share, so it
returns what it stored and leaves announcing to them. Takes the caller's session and never
commits.
"""

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import MentionIngested
from libs.contracts.outcome import Outcome
from libs.ids import new_id
from libs.text import content_hash, normalize
from services.ingest import repository
from services.ingest.idempotency import repository as idempotency
from services.ingest.repository import AuthorRow, Key, MentionRow, TryRow, Unanalysed
from services.ingest.schemas import MentionIn

# A mention unanalysed this long after it was stored is announced again. A batch is
# normally analysed within seconds; one still queued behind a backlog gets a copy, which
# costs analysis a query (it skips what it has done) and its reconciler row one try.
GRACE = timedelta(seconds=60)
# After each try the next waits twice as long as the last, from a minute up to 12 hours:
# 1, 2, 4, … 512 minutes (17 h in all), then 12 h each. MAX_TRIES = 15 tries and the wait
# after the last put the give-up about 77 hours (3.2 days) after the mention was stored:
# an outage of Redis or of the analysis workers (tries are counted only while PostgreSQL
# answers) is waited out about as long as a queued job waits one out before it becomes a
# dead letter (`libs.messaging.worker.MAX_TRIES`). A mention that breaks the analyser
# counts two tries a round (the re-send and its failure) and is given up in about 42 hours.
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=12)
MAX_TRIES = 15
REQUEUE_LIMIT = 5000
REQUEUE_BATCH = 1000
# Namespace of the ids of re-sends: the same re-send gets the same id in every pass.
_RESEND = uuid.UUID("6b1f4c2e-8d3a-4f57-a1c9-0e2d7b5f3a84")

log = logging.getLogger(__name__)


@dataclass
class StoredBatch:
    """Ids of each valid item (by index) and which of them are new."""

    ids: dict[int, uuid.UUID] = field(default_factory=dict)
    new: set[int] = field(default_factory=set)

    @property
    def new_ids(self) -> list[uuid.UUID]:
        """Return the ids of mentions created by this batch, in item order."""
        return [self.ids[index] for index in sorted(self.new)]


async def store_batch(
    session: AsyncSession, organization_id: uuid.UUID, items: dict[int, MentionIn]
) -> StoredBatch:
    """Store valid items; the same (source, external_id) twice is one mention."""
    stored = StoredBatch()
    if not items:
        return stored
    first_index: dict[Key, int] = {}
    for index, item in items.items():
        first_index.setdefault((item.source.value, item.external_id), index)

    # The database's clock, not this replica's: the reconciler's marks compare `ingested_at`
    # across replicas (`repository.due_unanalysed`), and one clock cannot be skewed.
    now = await repository.transaction_time(session)
    authors = await repository.upsert_authors(session, _author_rows(organization_id, items, now))
    # Rows go in key order, as authors do, so two batches with the same new keys lock the
    # unique index in the same order and cannot deadlock.
    rows = [
        _mention_row(organization_id, key, items[index], authors, now)
        for key, index in sorted(first_index.items())
    ]
    ids = await repository.insert_mentions(session, rows)
    new_keys = set(ids)
    missing = [key for key in first_index if key not in ids]
    if missing:
        ids.update(await repository.mention_ids(session, organization_id, missing))
    for index, item in items.items():
        key = (item.source.value, item.external_id)
        stored.ids[index] = ids[key]
        if key in new_keys and first_index[key] == index:
            stored.new.add(index)
    return stored


def announce(organization_id: uuid.UUID, mention_ids: list[uuid.UUID]) -> Outcome:
    """Emit one `mention.ingested.v1` for the new mentions, or nothing if none are new."""
    if not mention_ids:
        return Outcome()
    return Outcome.emit(MentionIngested(organization_id=organization_id, mention_ids=mention_ids))


async def reconcile(session: AsyncSession, now: datetime) -> Outcome:
    """Announce again the mentions never analysed, and forget expired idempotency records."""
    await repository.forget_analysed_failures(session)
    outcome = await requeue_unanalysed(session, now)
    await idempotency.purge_expired(session, now)
    return outcome


def retry_after(tries: int) -> timedelta:
    """Return how long after its last try a mention with `tries` tries is due again."""
    return min(RETRY_BASE * (1 << max(min(tries, 40) - 1, 0)), RETRY_CAP)


async def requeue_unanalysed(session: AsyncSession, now: datetime) -> Outcome:
    """Announce again the unanalysed mentions that are due, newest first; give up spent ones.

    The outbox guarantees `mention.ingested.v1` reaches Redis, but a job can still be lost
    after that (Redis crashing within its fsync second), or fail in analysis. Each re-send
    counts a try on the mention's `mention_failure` row, which says why (not analysed so
    long after it was stored); the next waits `retry_after(tries)`. A mention due with
    `MAX_TRIES` tries is given up instead: its row keeps it, with the reason, for
    `crisiswatch jobs mentions`. Analysis skips what it has already done, so a copy costs
    a query, not a duplicate.
    """
    due = await repository.due_unanalysed(
        session,
        now=now,
        stored_before=now - GRACE,
        base_seconds=RETRY_BASE.total_seconds(),
        cap_seconds=RETRY_CAP.total_seconds(),
        limit=REQUEUE_LIMIT,
    )
    spent = [d.mention_id for d in due.mentions if d.tries >= MAX_TRIES]
    for mention_id, reason in await repository.give_up(session, spent, MAX_TRIES, now):
        log.warning("mention %s given up: %s", mention_id, reason)
    resend = [d for d in due.mentions if d.tries < MAX_TRIES]
    counted = await repository.count_tries(session, [_next_try(d, now) for d in resend])
    # Every never-tried mention found now has a failure row (counted here or by another
    # replica's pass): the next pass need not read before `stored_before` again.
    await repository.advance_checked(session, due.checked, GRACE)
    groups: dict[tuple[uuid.UUID, int], list[Unanalysed]] = defaultdict(list)
    for item in resend:
        if item.mention_id in counted:
            groups[(item.organization_id, item.tries + 1)].append(item)
    return Outcome.emit(
        *(
            _resend(organization_id, tries, items[start : start + REQUEUE_BATCH])
            for (organization_id, tries), items in groups.items()
            for start in range(0, len(items), REQUEUE_BATCH)
        )
    )


def _next_try(item: Unanalysed, now: datetime) -> TryRow:
    waited = int((now - item.ingested_at).total_seconds())
    return TryRow(
        mention_id=item.mention_id,
        organization_id=item.organization_id,
        tries=item.tries + 1,
        reason=f"not analysed {waited} s after it was stored",
        first_failed_at=now,
        last_failed_at=now,
    )


def _resend(organization_id: uuid.UUID, tries: int, items: list[Unanalysed]) -> MentionIngested:
    """Announce `items` again under an id derived from what is re-sent.

    The id names the organization, the try, and each mention with the time of its previous
    try (a re-driven mention starts its count again, at a later time), so two passes or two
    replicas that read the same rows send the same id, and a new try never reuses an old one.
    """
    parts = sorted(
        f"{i.mention_id}@{i.last_failed_at.isoformat() if i.last_failed_at else '-'}" for i in items
    )
    key = f"{organization_id}/{tries}/{','.join(parts)}"
    return MentionIngested(
        message_id=uuid.uuid5(_RESEND, key),
        organization_id=organization_id,
        mention_ids=[i.mention_id for i in items],
    )


async def redrive_failed(
    session: AsyncSession, mention_ids: list[uuid.UUID] | None, now: datetime
) -> Outcome:
    """Start the tries of these failed mentions (None: every given-up one) again; announce them.

    Meant for after the cause is fixed: the count restarts from zero and the reconciler
    takes the mentions up again if this announcement does not get them analysed.
    """
    restarted = await repository.restart(session, mention_ids=mention_ids, now=now)
    by_org: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for organization_id, mention_id in restarted:
        by_org[organization_id].append(mention_id)
    return Outcome.emit(
        *(
            MentionIngested(organization_id=org, mention_ids=ids[start : start + REQUEUE_BATCH])
            for org, ids in by_org.items()
            for start in range(0, len(ids), REQUEUE_BATCH)
        )
    )


def _author_rows(
    organization_id: uuid.UUID, items: dict[int, MentionIn], now: datetime
) -> list[AuthorRow]:
    """Return one row per distinct author in key order; the latest sighting in the batch wins."""
    latest: dict[Key, MentionIn] = {}
    for item in items.values():
        latest[(item.source.value, item.author.handle)] = item
    return [
        AuthorRow(
            id=new_id(),
            organization_id=organization_id,
            source=source,
            handle=handle,
            followers=item.author.followers,
            verified=item.author.verified,
            kind=item.author.kind.value,
            updated_at=now,
        )
        for (source, handle), item in sorted(latest.items())
    ]


def _mention_row(
    organization_id: uuid.UUID,
    key: Key,
    item: MentionIn,
    authors: dict[Key, uuid.UUID],
    now: datetime,
) -> MentionRow:
    """Return the row of a new mention, its text normalised and hashed for deduplication."""
    return MentionRow(
        id=new_id(),
        organization_id=organization_id,
        source=key[0],
        external_id=key[1],
        text=item.text,
        content_hash=content_hash(normalize(item.text)),
        url=str(item.url) if item.url else None,
        posted_at=item.posted_at,
        author_id=authors[(key[0], item.author.handle)],
        reposts=item.metrics.reposts,
        comments=item.metrics.comments,
        likes=item.metrics.likes,
        views=item.metrics.views,
        repost_of=item.repost_of,
        ingested_at=now,
        drill_id=item.drill_id,
    )
