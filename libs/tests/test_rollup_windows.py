"""A window splits into rollup buckets and raw edges that cover it exactly once."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from libs.database.rollup_windows import Span, coarsest_grain, day_split, split

T = datetime(2026, 3, 1, 7, 13, 27, 500_000, tzinfo=UTC)


def _covered(spans: list[Span], since: datetime, until: datetime) -> None:
    """The non-empty spans tile [since, until): in order, no gap, no overlap."""
    parts = sorted((s for s in spans if not s.empty), key=lambda s: s.start)
    assert parts[0].start == since and parts[-1].end == until
    for before, after in pairwise(parts):
        assert before.end == after.start


@pytest.mark.parametrize(
    ("width", "offset", "grain"),
    [
        (timedelta(hours=1), timedelta(0), 3600),
        (timedelta(days=1), timedelta(minutes=480), 3600),
        (timedelta(days=1), timedelta(minutes=330), 900),
        (timedelta(hours=1), timedelta(minutes=345), 900),
        (timedelta(minutes=15), timedelta(0), 900),
        (timedelta(minutes=5), timedelta(0), 60),
        (timedelta(hours=1), timedelta(minutes=-7), 60),
    ],
)
def test_the_coarsest_grain_fits_the_width_and_offset(
    width: timedelta, offset: timedelta, grain: int
) -> None:
    assert coarsest_grain(width, offset) == grain


@pytest.mark.parametrize(
    "length", [timedelta(seconds=30), timedelta(minutes=3), timedelta(hours=5), timedelta(days=3)]
)
@pytest.mark.parametrize("grain", [60, 900, 3600])
def test_a_split_tiles_the_window_with_aligned_rollup_parts(length: timedelta, grain: int) -> None:
    until = T + length
    parts = split(T, until, grain)
    _covered([parts.inside, *parts.minutes, *parts.raw], T, until)
    for span, step in [(parts.inside, grain), *((m, 60) for m in parts.minutes)]:
        if not span.empty:
            assert span.start.timestamp() % step == 0 and span.end.timestamp() % step == 0
    for raw in parts.raw:
        assert raw.end - raw.start < timedelta(minutes=1) or length < timedelta(minutes=2)


def test_a_day_split_keeps_whole_utc_days_and_raw_edges() -> None:
    parts = day_split(T, T + timedelta(days=3))
    assert parts.days == Span(datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC))
    _covered([parts.days, *parts.raw], T, T + timedelta(days=3))
    short = day_split(T, T + timedelta(hours=20))
    assert short.days.empty and short.raw[0] == Span(T, T + timedelta(hours=20))
    open_start = day_split(None, T)
    assert open_start.days.end == datetime(2026, 3, 1, tzinfo=UTC)
    assert open_start.raw[1] == Span(datetime(2026, 3, 1, tzinfo=UTC), T)
