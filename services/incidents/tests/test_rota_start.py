"""A new rota given no start covers its role at once, from the last hand-off before today's."""

from datetime import date, timedelta

from services.incidents.oncall.service import _last_handoff_day


def test_the_start_is_the_last_hand_off_weekday_before_today() -> None:
    monday = date(2026, 12, 7)
    for offset in range(7):
        today = monday + timedelta(days=offset)
        for weekday in range(7):
            start = _last_handoff_day(today, weekday)
            assert start.weekday() == weekday
            assert 1 <= (today - start).days <= 7


def test_on_the_hand_off_weekday_it_goes_back_a_week() -> None:
    wednesday = date(2026, 12, 9)
    assert _last_handoff_day(wednesday, wednesday.weekday()) == date(2026, 12, 2)
    assert _last_handoff_day(wednesday, 0) == date(2026, 12, 7)
