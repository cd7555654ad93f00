"""Which incidents a replay's tier changes open, and how they meet the recorded ones."""

import uuid
from datetime import UTC, datetime, timedelta

from libs.contracts.backtests import Recorded, compare
from libs.contracts.enums import Tier
from services.analysis.backtest import ReplayedSignal
from services.analysis.backtest_runs import findings

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def change(minutes: int, previous: Tier | None, tier: Tier | None) -> ReplayedSignal:
    return ReplayedSignal(T0 + timedelta(minutes=minutes), previous, tier, 50.0, [], {}, ())


def test_an_opening_lasts_from_yellow_until_below_yellow_and_keeps_its_peak() -> None:
    found = findings(
        [
            change(0, None, Tier.BLUE),  # blue opens nothing
            change(10, Tier.BLUE, Tier.YELLOW),
            change(20, Tier.YELLOW, Tier.RED),
            change(30, Tier.RED, Tier.ORANGE),
            change(40, Tier.ORANGE, Tier.BLUE),
            change(90, Tier.BLUE, Tier.ORANGE),
        ]
    )
    stretches = [(w.opened_at, w.peak_tier, w.ended_at) for w in found.would_open]
    assert stretches == [
        (T0 + timedelta(minutes=10), Tier.RED, T0 + timedelta(minutes=40)),
        (T0 + timedelta(minutes=90), Tier.ORANGE, None),
    ]
    assert len(found.tier_changes) == 6


def test_recorded_incidents_match_an_opening_within_the_tolerance_only() -> None:
    found = findings([change(10, None, Tier.ORANGE), change(40, Tier.ORANGE, None)])
    inside, late, unrelated = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    recorded = [
        Recorded(inside, T0 + timedelta(minutes=12), false_alarm=True),
        Recorded(late, T0 + timedelta(minutes=40 + 29), false_alarm=False),
        Recorded(unrelated, T0 + timedelta(minutes=40 + 31), false_alarm=True),
    ]
    compared = compare(found.would_open, recorded, until=T0 + timedelta(hours=3))
    assert compared.matched == {0: [inside, late]}
    assert compared.raised_again == {inside: True, late: True, unrelated: False}
    assert (compared.false_alarms_raised, compared.false_alarms_avoided) == (1, 1)
    assert (compared.incidents_missed, compared.new_openings) == (0, 0)


def test_an_opening_nobody_recorded_is_new_and_an_unmatched_real_incident_missed() -> None:
    found = findings([change(10, None, Tier.YELLOW)])
    real = uuid.uuid4()
    compared = compare(found.would_open, [Recorded(real, T0 - timedelta(hours=2), False)], until=T0)
    assert (compared.new_openings, compared.incidents_missed) == (1, 1)
