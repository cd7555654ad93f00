"""The forecaster on constructed trajectories: rising, flat, falling, and deadlines it beats."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from libs.contracts.enums import Tier
from libs.forecast import (
    TIER_FLOORS,
    Anchor,
    Deadline,
    DeadlineThreat,
    ForecastTrend,
    Trajectory,
    forecast,
    summary,
)
from libs.forecast.inputs import windows
from libs.forecast.model import (
    TIER_HYSTERESIS,
    audience_per_mention,
    fit,
    held_tier,
    time_to_peak,
    trusted_growth,
)
from libs.forecast.words import duration

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _trajectory(
    counts: list[int],
    tier: Tier = Tier.ORANGE,
    score: float = 60.0,
    anchor_count: int | None = None,
    **more: object,
) -> Trajectory:
    return Trajectory(
        now=NOW,
        tier=tier,
        counts=counts,
        reaches=[count * 1000 for count in counts],
        reach_so_far=sum(counts) * 1000,
        anchor=Anchor(score, counts[-1] if anchor_count is None else anchor_count),
        **more,  # type: ignore[arg-type]
    )


def _first_statement(after: timedelta) -> Deadline:
    return Deadline(uuid.uuid4(), "first_statement", "发布首次公开声明", NOW + after)


def test_fit_finds_the_doubling_rate_of_a_doubling_series() -> None:
    level, growth = fit([9, 19, 39, 79])
    assert level == pytest.approx(79, rel=0.01)
    # log(count + 1) doubles every window: ln 2 per 15 minutes.
    assert growth == pytest.approx(4 * 0.6931, rel=0.01)


def test_a_doubling_crisis_reaches_red_soon_and_beats_the_first_statement() -> None:
    statement = _first_statement(3 * HOUR + 40 * timedelta(minutes=1))
    result = forecast(_trajectory([9, 19, 39, 79], score=73.0, deadlines=[statement]))
    assert result.trend is ForecastTrend.RISING
    assert result.next_tier is Tier.RED
    assert result.time_to_next_tier is not None
    # 73 → 75 needs a quarter of a doubling of volume; at 2.6 doublings an hour, tapering.
    assert timedelta(minutes=2) <= result.time_to_next_tier <= timedelta(minutes=10)
    # Growth fades within a quarter of an hour and attention halves every half hour after.
    assert result.time_to_peak is not None
    assert result.time_to_next_tier < result.time_to_peak < HOUR
    in_one, in_four = result.projection(HOUR), result.projection(4 * HOUR)
    # Red is left only 10 points under its floor: an hour on, past the peak, it holds.
    assert in_one.tier is Tier.RED
    assert TIER_FLOORS[Tier.RED] - TIER_HYSTERESIS < in_one.score < TIER_FLOORS[Tier.RED]
    gathered = sum([9, 19, 39, 79]) * 1000
    assert gathered + 2 * 79 * 1000 < in_one.reach < gathered + 4 * 79 * 1000 * 1.4
    assert in_four.reach > in_one.reach
    # Past its peak the wave ebbs: less talk per window in one hour than now, less in four.
    assert in_four.mentions_per_window < in_one.mentions_per_window < 79
    assert [risk.deadline for risk in result.at_risk] == [statement]
    assert result.at_risk[0].threat is DeadlineThreat.NEXT_TIER
    minutes = round(result.time_to_next_tier / timedelta(minutes=1))
    assert summary(result) == f"约{minutes}分钟后升至红色；首次声明3小时40分钟后到期"


def test_a_flat_crisis_promises_no_next_tier_and_no_peak() -> None:
    result = forecast(_trajectory([40, 41, 39, 40], deadlines=[_first_statement(2 * HOUR)]))
    assert result.trend is ForecastTrend.FLAT
    assert result.time_to_next_tier is None
    assert result.time_to_peak is None
    assert result.at_risk == ()
    assert result.projection(HOUR).tier is Tier.ORANGE
    assert summary(result) == "热度基本持平"


def test_a_falling_crisis_falls_in_tier_and_puts_no_deadline_at_risk() -> None:
    result = forecast(_trajectory([160, 80, 40, 20], deadlines=[_first_statement(HOUR)]))
    assert result.trend is ForecastTrend.FALLING
    assert result.time_to_next_tier is None
    assert result.at_risk == ()
    in_four = result.projection(4 * HOUR)
    assert in_four.tier is None or in_four.tier.rank < Tier.ORANGE.rank
    # Reach only adds up, even while the talk dies down.
    assert result.projection(HOUR).reach >= sum([160, 80, 40, 20]) * 1000
    assert summary(result) == "热度正在回落"


def test_a_peak_before_a_deadline_puts_it_at_risk_even_at_red() -> None:
    result = forecast(
        _trajectory(
            [10, 14, 20, 28], tier=Tier.RED, score=80.0, deadlines=[_first_statement(HOUR * 3)]
        )
    )
    assert result.next_tier is None and result.time_to_next_tier is None
    assert result.peak_at is not None and result.peak_at < NOW + 3 * HOUR
    (risk,) = result.at_risk
    assert risk.threat is DeadlineThreat.PEAK
    assert summary(result).endswith("；首次声明3小时后到期")


def test_a_passed_deadline_is_not_at_risk_it_is_late() -> None:
    result = forecast(_trajectory([9, 19, 39, 79], deadlines=[_first_statement(-HOUR)]))
    assert result.at_risk == ()


def test_peak_comes_later_the_faster_the_rise() -> None:
    assert time_to_peak(0.0) is None
    slow, fast = time_to_peak(0.5), time_to_peak(3.0)
    assert slow is not None and fast is not None and slow < fast


def test_minute_buckets_fold_into_windows_ending_now() -> None:
    minutes = [
        (NOW - timedelta(minutes=1), 3, 30),
        (NOW - timedelta(minutes=14), 2, 20),
        (NOW - timedelta(minutes=16), 5, 50),
        (NOW - timedelta(minutes=61), 7, 70),
    ]
    assert windows(minutes, NOW) == ([0, 0, 5, 5], [0, 0, 50, 50])


@pytest.mark.parametrize(
    ("span", "words"),
    [
        (timedelta(minutes=12), "12分钟"),
        (3 * HOUR, "3小时"),
        (timedelta(minutes=220), "3小时40分钟"),
    ],
)
def test_durations_read_as_people_say_them(span: timedelta, words: str) -> None:
    assert duration(span) == words


def test_a_step_that_then_holds_is_a_level_not_growth() -> None:
    # One jump and no change since: a least-squares slope reads 2.5 per hour of growth here.
    assert fit([5, 5, 60, 60]) == (60.0, 0.0)
    result = forecast(_trajectory([5, 5, 60, 60], tier=Tier.YELLOW, score=40.0))
    assert result.trend is ForecastTrend.FLAT
    assert result.time_to_next_tier is None and result.time_to_peak is None
    # The pace is read from the window as it stands, not from a line carried past it.
    assert result.projection(HOUR).mentions_per_window <= 60


def test_growth_is_trusted_less_on_few_posts_and_on_changes_that_disagree() -> None:
    _, many = fit([100, 200, 400, 800])
    assert trusted_growth([100, 200, 400, 800]) == pytest.approx(many, rel=0.01)
    _, few = fit([1, 2, 4, 8])
    assert trusted_growth([1, 2, 4, 8]) < 0.7 * few
    assert trusted_growth([10, 40, 40, 80]) < 0.85 * trusted_growth([10, 20, 40, 80])
    assert trusted_growth([40, 41, 39, 40]) == pytest.approx(0.0, abs=0.01)
    assert trusted_growth([160, 80, 40, 20]) < -2.0


def test_a_tier_is_left_only_below_its_floor_less_the_hysteresis() -> None:
    # Held at 40 mentions a window, ebbing as attention wanes: an hour on, the score reads
    # under orange's floor, but not by the 10 points the analysis service drops a tier at.
    result = forecast(_trajectory([40, 40, 40, 40], score=63.0))
    in_one = result.projection(HOUR)
    assert TIER_FLOORS[Tier.ORANGE] - TIER_HYSTERESIS < in_one.score < TIER_FLOORS[Tier.ORANGE]
    assert in_one.tier is Tier.ORANGE
    assert held_tier(Tier.ORANGE, in_one.score, 40) is Tier.ORANGE
    assert held_tier(Tier.ORANGE, 40.0, 40) is Tier.YELLOW
    assert held_tier(Tier.YELLOW, 60.0, 40) is Tier.ORANGE


def test_one_viral_window_is_not_carried_into_every_mention_ahead() -> None:
    # 7.3 M views in one window of 7 posts, 1–2 thousand a post in the others.
    counts, reaches = [5, 7, 25, 25], [8_000, 7_331_000, 52_000, 53_000]
    assert audience_per_mention(counts, reaches) == pytest.approx(2_100)
    assert audience_per_mention([0, 0, 0, 0], [0, 0, 0, 0]) == 0.0
    held = Trajectory(NOW, Tier.ORANGE, counts, reaches, sum(reaches), Anchor(60.0, 25))
    added = forecast(held).projection(HOUR).reach - sum(reaches)
    # About four windows of 25 mentions at the typical post's audience, not the hour's mean.
    assert 0 < added < 4 * 25 * 10_000
