"""How a time window splits into rollup buckets and the raw edges they cannot cover.

A window [since, until) rarely starts on a bucket boundary. It is read as its inside, the
whole buckets of the coarsest grain that fits, then whole minutes beside them, then the
seconds at either end from the raw tables: at most two minutes of raw rows, however long
the window. Pure functions, so the split is tested without a database.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from libs.database.rollups import GRAINS, ORIGIN

MINUTE = timedelta(seconds=GRAINS[0])
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Span:
    """[start, end) of one part of a window; empty when start >= end."""

    start: datetime
    end: datetime

    @property
    def empty(self) -> bool:
        """Return whether the span holds no instant."""
        return self.start >= self.end


@dataclass(frozen=True)
class Split:
    """A window as rollup rows of `grain_seconds`, minute rows beside them and raw edges."""

    grain_seconds: int
    inside: Span
    minutes: tuple[Span, Span]
    raw: tuple[Span, Span]


def bucket_start(moment: datetime, step: timedelta) -> datetime:
    """The start of the rollup bucket of width `step` that holds `moment`."""
    return ORIGIN + ((moment - ORIGIN) // step) * step


def _ceil(moment: datetime, step: timedelta) -> datetime:
    down = bucket_start(moment, step)
    return down if down == moment else down + step


def coarsest_grain(width: timedelta, offset: timedelta) -> int:
    """Return the widest grain whose buckets each fall inside one bucket of `width` at `offset`.

    Every dashboard width is a whole number of minutes and every offset too, so the minute
    always fits.
    """
    for grain in sorted(GRAINS, reverse=True):
        step = timedelta(seconds=grain)
        if width % step == timedelta(0) and offset % step == timedelta(0):
            return grain
    raise ValueError(f"no rollup grain fits buckets of {width} at offset {offset}")


def split(since: datetime, until: datetime, grain_seconds: int) -> Split:
    """Split [since, until) into whole `grain_seconds` buckets, whole minutes and raw edges."""
    step = timedelta(seconds=grain_seconds)
    minute_start, minute_end = _ceil(since, MINUTE), bucket_start(until, MINUTE)
    if minute_start >= minute_end:
        # Less than a whole minute: all raw.
        return Split(
            grain_seconds,
            Span(since, since),
            (Span(since, since), Span(since, since)),
            (Span(since, until), Span(until, until)),
        )
    inside_start, inside_end = _ceil(since, step), bucket_start(until, step)
    if inside_start >= inside_end:
        inside_start = inside_end = minute_start
    return Split(
        grain_seconds,
        Span(inside_start, inside_end),
        (Span(minute_start, inside_start), Span(inside_end, minute_end)),
        (Span(since, minute_start), Span(minute_end, until)),
    )


@dataclass(frozen=True)
class DaySplit:
    """A window as whole UTC days and the raw parts of the days at either end."""

    days: Span
    raw: tuple[Span, Span]


def day_split(since: datetime | None, until: datetime | None) -> DaySplit:
    """Split a window (open at a missing end) into whole UTC days and raw edges."""
    earliest, latest = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
    first = since if since is not None else earliest
    last = until if until is not None else latest
    day_start = first if since is None else _midnight(first, up=True)
    day_end = last if until is None else _midnight(last, up=False)
    if day_start >= day_end:
        return DaySplit(Span(first, first), (Span(first, last), Span(last, last)))
    return DaySplit(Span(day_start, day_end), (Span(first, day_start), Span(day_end, last)))


def _midnight(moment: datetime, *, up: bool) -> datetime:
    utc = moment.astimezone(UTC)
    down = datetime.combine(utc.date(), time(), UTC)
    return down + DAY if up and down != utc else down
