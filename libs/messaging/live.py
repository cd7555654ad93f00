"""Live notices behind GraphQL subscriptions: Redis pub/sub, one channel per organization.

A notice says that something changed (a mention was analysed, a risk signal was stored, an
incident moved) and carries the few facts subscribers filter on; the subscriber reads the
rest through the ordinary loaders, so a notice never leaks more than the reader's key could
query. Services stage notices in the transaction that makes the change and announce them
only after it commits, so a notice never names a row a reader cannot see yet.

Notices are hints, not records: pub/sub delivers to whoever listens at that moment and
forgets. The durable path for integrators is the events queue and its webhooks; a console
that reconnects re-reads through queries.

One pub/sub message carries a JSON array of up to `MAX_BATCH` notices of one organization:
an analysed batch of a thousand mentions costs a handful of messages, not a thousand.
"""

import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, TypeAdapter
from redis.asyncio import Redis
from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "crisiswatch:live:"
MAX_BATCH = 200
_STAGED = "crisiswatch.live.staged"


class LiveKind(StrEnum):
    """What a notice is about; each feeds one subscription."""

    MENTION = "mention"
    SIGNAL = "signal"
    INCIDENT = "incident"


class Notice(BaseModel):
    """One change, announced to the organization's live channel."""

    kind: LiveKind
    organization_id: uuid.UUID
    id: uuid.UUID = Field(description="The mention, signal or incident that changed.")
    attributes: dict[str, Any] = Field(
        default_factory=dict,
        description="What subscribers filter on: the kind's facts model, as JSON.",
    )
    # The facts once read: every subscription of a process checks the same notice.
    _facts: Any = PrivateAttr(default=None)


class _Facts(BaseModel):
    model_config = ConfigDict(frozen=True)

    @classmethod
    def of(cls, notice: Notice) -> Self:
        """Read the facts a notice carries; raises pydantic's ValidationError when malformed."""
        cached = notice._facts
        if isinstance(cached, cls):
            return cached
        facts = cls.model_validate(notice.attributes)
        notice._facts = facts
        return facts


class MentionFacts(_Facts):
    """What a `mentions` subscriber filters on: the analysis of one stored mention."""

    watchlist_ids: list[uuid.UUID] = Field(default_factory=list)
    sentiment: str
    source: str
    story_id: uuid.UUID | None = None
    posted_at: datetime


class SignalFacts(_Facts):
    """What a `riskSignals` subscriber filters on: one stored tier decision."""

    watchlist_id: uuid.UUID
    tier: str = Field(description='A tier value, or "none" when the watchlist dropped below blue.')
    score: float


class IncidentFacts(_Facts):
    """What an `incidentUpdates` subscriber reads: one appended timeline event."""

    event_id: uuid.UUID
    change: str = Field(description="The timeline event's kind, e.g. status_changed.")
    at: datetime
    status: str | None = Field(default=None, description="The incident's status, when known.")
    tier: str | None = Field(default=None, description="The incident's tier, when known.")


def mention_notice(
    organization_id: uuid.UUID, mention_id: uuid.UUID, facts: MentionFacts
) -> Notice:
    """Say that `mention_id` was analysed."""
    return _notice(LiveKind.MENTION, organization_id, mention_id, facts)


def signal_notice(organization_id: uuid.UUID, signal_id: uuid.UUID, facts: SignalFacts) -> Notice:
    """Say that the risk signal `signal_id` was stored."""
    return _notice(LiveKind.SIGNAL, organization_id, signal_id, facts)


def incident_notice(
    organization_id: uuid.UUID, incident_id: uuid.UUID, facts: IncidentFacts
) -> Notice:
    """Say that `incident_id` gained a timeline event."""
    return _notice(LiveKind.INCIDENT, organization_id, incident_id, facts)


def _notice(kind: LiveKind, organization_id: uuid.UUID, id_: uuid.UUID, facts: _Facts) -> Notice:
    return Notice(
        kind=kind, organization_id=organization_id, id=id_, attributes=facts.model_dump(mode="json")
    )


def channel(organization_id: uuid.UUID) -> str:
    """The pub/sub channel that carries one organization's notices."""
    return f"{CHANNEL_PREFIX}{organization_id}"


def stage(session: AsyncSession, notice: Notice) -> None:
    """Hold `notice` until the caller's transaction commits."""
    session.info.setdefault(_STAGED, []).append(notice)


def take_staged(session: AsyncSession) -> list[Notice]:
    """Remove and return what was staged in `session`; call it before the session closes."""
    staged: list[Notice] = session.info.pop(_STAGED, [])
    return staged


_BATCH = TypeAdapter(list[Notice])


def encode(notices: Sequence[Notice]) -> bytes:
    """Serialise one pub/sub message."""
    return _BATCH.dump_json(list(notices))


def decode(data: bytes | str) -> list[Notice]:
    """Read one pub/sub message; raises pydantic's ValidationError when it is not notices."""
    return _BATCH.validate_json(data)


def _batches(notices: Iterable[Notice]) -> Iterator[tuple[str, list[Notice]]]:
    """Group notices by channel, in order, at most `MAX_BATCH` to a message."""
    grouped: dict[uuid.UUID, list[Notice]] = {}
    for notice in notices:
        grouped.setdefault(notice.organization_id, []).append(notice)
    for organization_id, group in grouped.items():
        for start in range(0, len(group), MAX_BATCH):
            yield channel(organization_id), group[start : start + MAX_BATCH]


async def announce(redis: Redis, notices: Iterable[Notice]) -> None:
    """Publish committed notices; a failure is logged, never raised, since the change stands."""
    batches = list(_batches(notices))
    if not batches:
        return
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for name, batch in batches:
                pipe.publish(name, encode(batch))
            await pipe.execute()
    except Exception:
        count = sum(len(batch) for _, batch in batches)
        log.exception("announcing %d live notices failed; subscribers miss them", count)
