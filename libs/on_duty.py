"""Who is on duty at an instant: a weekly rotation in local time, and overrides on top.

Pure: no database, no clock. A hand-off happens at the same wall-clock time every week in
the organization's time zone, so on a day when the clocks change the shift is an hour
shorter or longer rather than the hand-off moving. A hand-off time the clocks skip (02:30
on a spring-forward night) happens an hour later by the new clock (03:30), as `zoneinfo`
reads it (PEP 495, fold 0); one they repeat happens the first time round.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Rotation:
    """People taking turns week by week; the first starts at the first hand-off from `starts_on`."""

    people: tuple[uuid.UUID, ...]
    handoff_weekday: int
    handoff_time: time
    starts_on: date
    zone: ZoneInfo


@dataclass(frozen=True)
class Override:
    """Someone on duty instead of the rotation from `starts_at` until (not at) `ends_at`."""

    person_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    created_at: datetime


@dataclass(frozen=True)
class OnDuty:
    """Who is on duty and the shift they are in: since the hand-off (or override) until the next."""

    person_id: uuid.UUID
    since: datetime
    until: datetime
    overridden: bool


def _handoff(rotation: Rotation, day: date) -> datetime:
    """Return the hand-off on local `day` as a UTC instant.

    In UTC because Python compares two datetimes of the same zone by wall time.
    """
    return datetime.combine(day, rotation.handoff_time, tzinfo=rotation.zone).astimezone(UTC)


def first_handoff_day(rotation: Rotation) -> date:
    """Return the local day of the rotation's first hand-off: its weekday, on or after start."""
    ahead = (rotation.handoff_weekday - rotation.starts_on.weekday()) % 7
    return rotation.starts_on + timedelta(days=ahead)


def rotation_shift(rotation: Rotation, at: datetime) -> OnDuty | None:
    """Return the rotation's person on duty at `at`, or None before it starts or with no one."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    if not rotation.people:
        return None
    first = first_handoff_day(rotation)
    local_day = at.astimezone(rotation.zone).date()
    day = local_day - timedelta(days=(local_day.weekday() - rotation.handoff_weekday) % 7)
    if _handoff(rotation, day) > at:
        day -= WEEK
    if day < first:
        return None
    week = (day - first).days // 7
    return OnDuty(
        person_id=rotation.people[week % len(rotation.people)],
        since=_handoff(rotation, day),
        until=_handoff(rotation, day + WEEK),
        overridden=False,
    )


def on_duty(rotation: Rotation, overrides: Sequence[Override], at: datetime) -> OnDuty | None:
    """Return who is on duty at `at`: the latest override covering it, else the rotation's."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    covering = [o for o in overrides if o.starts_at <= at < o.ends_at]
    if covering:
        latest = max(covering, key=lambda o: o.created_at)
        return OnDuty(latest.person_id, latest.starts_at, latest.ends_at, overridden=True)
    return rotation_shift(rotation, at)
