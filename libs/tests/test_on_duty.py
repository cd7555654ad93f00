"""Who is on duty: weekly hand-offs in local time, overrides on top, clocks that change."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from libs.on_duty import Override, Rotation, on_duty

ANA, BO, CY, DEPUTY = (uuid.uuid4() for _ in range(4))
SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


def rotation(zone: ZoneInfo = SHANGHAI, *, weekday: int = 0, at: time = time(9, 0)) -> Rotation:
    """Ana, Bo and Cy in turn; the first hand-off is Monday 2026-03-02 (weekday 0)."""
    return Rotation((ANA, BO, CY), weekday, at, date(2026, 3, 1), zone)


def local(
    zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def who(rota: Rotation, at: datetime, overrides: list[Override] | None = None) -> uuid.UUID | None:
    duty = on_duty(rota, overrides or [], at)
    return duty.person_id if duty else None


def test_nobody_is_on_duty_before_the_first_hand_off() -> None:
    assert who(rotation(), local(SHANGHAI, 2026, 3, 2, 8, 59)) is None
    assert who(rotation(), local(SHANGHAI, 2026, 3, 2, 9, 0)) == ANA


def test_the_turn_passes_at_the_local_hand_off_and_wraps_around() -> None:
    rota = rotation()
    assert who(rota, local(SHANGHAI, 2026, 3, 9, 8, 59)) == ANA
    assert who(rota, local(SHANGHAI, 2026, 3, 9, 9, 0)) == BO
    assert who(rota, local(SHANGHAI, 2026, 3, 16, 9, 0)) == CY
    assert who(rota, local(SHANGHAI, 2026, 3, 23, 9, 0)) == ANA
    # The same instant in UTC (01:00Z is 09:00 in Shanghai) answers the same.
    assert who(rota, datetime(2026, 3, 9, 1, 0, tzinfo=UTC)) == BO
    assert who(rota, datetime(2026, 3, 9, 0, 59, tzinfo=UTC)) == ANA


def test_a_shift_runs_from_one_hand_off_to_the_next() -> None:
    duty = on_duty(rotation(), [], local(SHANGHAI, 2026, 3, 12, 3, 0))
    assert duty is not None
    assert (duty.since, duty.until) == (
        datetime(2026, 3, 9, 1, 0, tzinfo=UTC),
        datetime(2026, 3, 16, 1, 0, tzinfo=UTC),
    )


def test_a_hand_off_late_in_the_week_counts_weeks_from_the_start_day() -> None:
    # Friday 18:00 hand-offs, starting Sunday 2026-03-01: the first is Friday 2026-03-06.
    rota = rotation(weekday=4, at=time(18, 0))
    assert who(rota, local(SHANGHAI, 2026, 3, 6, 17, 59)) is None
    assert who(rota, local(SHANGHAI, 2026, 3, 6, 18, 0)) == ANA
    assert who(rota, local(SHANGHAI, 2026, 3, 13, 17, 59)) == ANA
    assert who(rota, local(SHANGHAI, 2026, 3, 13, 18, 0)) == BO


def test_the_hand_off_keeps_its_wall_clock_time_across_daylight_saving() -> None:
    # New York springs forward on Sunday 2026-03-08: 09:00 EST is 14:00Z, 09:00 EDT 13:00Z.
    rota = rotation(NEW_YORK)
    assert who(rota, datetime(2026, 3, 2, 14, 0, tzinfo=UTC)) == ANA
    assert who(rota, datetime(2026, 3, 9, 12, 59, tzinfo=UTC)) == ANA
    assert who(rota, datetime(2026, 3, 9, 13, 0, tzinfo=UTC)) == BO
    duty = on_duty(rota, [], datetime(2026, 3, 5, tzinfo=UTC))
    assert duty is not None and duty.until - duty.since == timedelta(days=7, hours=-1)
    # And back on Sunday 2026-11-01: Monday's 09:00 EST is 14:00Z again.
    assert who(rota, datetime(2026, 11, 2, 13, 59, tzinfo=UTC)) == who(
        rota, datetime(2026, 10, 27, tzinfo=UTC)
    )
    assert who(rota, datetime(2026, 11, 2, 14, 0, tzinfo=UTC)) != who(
        rota, datetime(2026, 11, 2, 13, 59, tzinfo=UTC)
    )


def test_a_hand_off_in_the_skipped_hour_happens_after_the_gap() -> None:
    # Sunday hand-offs at 02:30: on 2026-03-08 New York has no 02:30; it happens at 03:30 EDT.
    rota = Rotation((ANA, BO), 6, time(2, 30), date(2026, 3, 1), NEW_YORK)
    assert who(rota, datetime(2026, 3, 8, 7, 29, tzinfo=UTC)) == ANA  # 03:29 EDT
    assert who(rota, datetime(2026, 3, 8, 7, 30, tzinfo=UTC)) == BO  # 03:30 EDT


def test_an_override_stands_in_for_its_hours_and_the_latest_wins() -> None:
    rota = rotation()
    start, end = local(SHANGHAI, 2026, 3, 10, 20, 0), local(SHANGHAI, 2026, 3, 11, 8, 0)
    night = Override(DEPUTY, start, end, created_at=datetime(2026, 3, 1, tzinfo=UTC))
    assert who(rota, start - timedelta(seconds=1), [night]) == BO
    assert who(rota, start, [night]) == DEPUTY
    assert who(rota, end, [night]) == BO
    swap = Override(CY, start, end, created_at=datetime(2026, 3, 2, tzinfo=UTC))
    duty = on_duty(rota, [night, swap], start + timedelta(hours=1))
    assert duty is not None and (duty.person_id, duty.overridden) == (CY, True)
    # An override before the rotation starts covers its hours too.
    early = Override(DEPUTY, local(SHANGHAI, 2026, 3, 1), local(SHANGHAI, 2026, 3, 2), start)
    assert who(rota, local(SHANGHAI, 2026, 3, 1, 12), [early]) == DEPUTY


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        on_duty(rotation(), [], datetime(2026, 3, 9, 9, 0))
