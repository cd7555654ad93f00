"""What a backtest found, as analysis stores it and the gateway reads it back.

One model on both sides of the `backtest.result` column, so the writer and the reader
cannot drift apart; the counts a console shows are derived here, never stored twice.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict

from libs.contracts.enums import Tier

# Where an incident the replay would have opened and a recorded incident count as one: the
# recorded one was detected this long before the replayed opening at most, or this long
# after its end. Recorded incidents open from the same signals, so the same crisis lands
# within minutes; half an hour absorbs a held signal and a backfill's deferred decision.
MATCH_TOLERANCE_MINUTES = 30


class BacktestStatus(StrEnum):
    """Where a backtest is: waiting for (or running on) a worker, finished, or refused."""

    QUEUED = "queued"
    DONE = "done"
    FAILED = "failed"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReplayedTierChange(_Frozen):
    """A tier change the rule would have made, at a mention's posting time."""

    at: AwareDatetime
    previous: Tier | None
    tier: Tier | None
    score: float
    reasons: list[str]
    top_mention_ids: list[uuid.UUID]


class WouldOpen(_Frozen):
    """An incident the rule would have opened: the watchlist reached yellow or above.

    It lasts until the tier falls below yellow (`ended_at`), or past the replay's end (null).
    """

    opened_at: AwareDatetime
    peak_tier: Tier
    ended_at: AwareDatetime | None


class BacktestFindings(_Frozen):
    """The replay's tier changes and the incidents they would have opened."""

    tier_changes: list[ReplayedTierChange]
    would_open: list[WouldOpen]


@dataclass(frozen=True)
class Recorded:
    """An incident actually opened for the watchlist in the replayed range."""

    incident_id: uuid.UUID
    detected_at: datetime
    false_alarm: bool


@dataclass(frozen=True)
class Comparison:
    """The replay's openings against the recorded incidents, each matched where it coincides.

    Compared when read, not when replayed, so an incident marked a false alarm after the
    backtest ran counts as one.
    """

    matched: dict[int, list[uuid.UUID]]
    raised_again: dict[uuid.UUID, bool]
    recorded: list[Recorded]

    @property
    def false_alarms_raised(self) -> int:
        """Recorded false alarms the rule would raise again: the count a tuning wants at 0."""
        return sum(1 for r in self.recorded if r.false_alarm and self.raised_again[r.incident_id])

    @property
    def false_alarms_avoided(self) -> int:
        """Recorded false alarms the rule would no longer raise."""
        return sum(
            1 for r in self.recorded if r.false_alarm and not self.raised_again[r.incident_id]
        )

    @property
    def incidents_missed(self) -> int:
        """Recorded real incidents (not false alarms) the rule would not raise."""
        return sum(
            1 for r in self.recorded if not r.false_alarm and not self.raised_again[r.incident_id]
        )

    @property
    def new_openings(self) -> int:
        """Openings that match no recorded incident: alerts the team never had."""
        return sum(1 for ids in self.matched.values() if not ids)


def compare(
    would_open: Sequence[WouldOpen], recorded: Sequence[Recorded], until: datetime
) -> Comparison:
    """Match each recorded incident with the openings whose stretch it falls in (± tolerance)."""
    tolerance = timedelta(minutes=MATCH_TOLERANCE_MINUTES)
    matched: dict[int, list[uuid.UUID]] = {i: [] for i in range(len(would_open))}
    raised_again: dict[uuid.UUID, bool] = {}
    for incident in recorded:
        hits = [
            i
            for i, opening in enumerate(would_open)
            if opening.opened_at - tolerance
            <= incident.detected_at
            <= (opening.ended_at or until) + tolerance
        ]
        for i in hits:
            matched[i].append(incident.incident_id)
        raised_again[incident.incident_id] = bool(hits)
    return Comparison(matched, raised_again, list(recorded))
