"""The risk model on hand-computed windows: spikes, minimum volume, hysteresis, reasons."""

import uuid
from datetime import UTC, datetime

import pytest

from libs.contracts.enums import Tier
from services.analysis.risk import (
    WindowStats,
    assess,
    components,
    tier_for,
    window_bounds,
    with_hysteresis,
)

NOW = datetime(2025, 3, 15, 20, 0, tzinfo=UTC)
_, WINDOW_START, _, WINDOW_END = window_bounds(NOW)


def stats(
    window: int,
    negative: int,
    *,
    recent: int | None = None,
    baseline: int = 0,
    followers: int = 0,
    views: int = 0,
    media: tuple[str, ...] = (),
    kol: tuple[str, ...] = (),
) -> WindowStats:
    return WindowStats(
        window_start=WINDOW_START,
        window_end=WINDOW_END,
        window_count=window,
        negative_count=negative,
        recent_count=window if recent is None else recent,
        baseline_count=baseline,
        followers=followers,
        views=views,
        media_authors=media,
        kol_authors=kol,
        top_mention_ids=(uuid.uuid4(),),
    )


def test_demo_burst_with_a_media_account_reaches_orange_or_red() -> None:
    # ~40 neutral chatter posts over the previous 6 hours, then 60 negative posts within a
    # minute, one by a media account with 3M followers; the 59 users have 200 followers each.
    burst = stats(
        60,
        57,
        recent=60,
        baseline=40,
        followers=3_000_000 + 59 * 200,
        views=250_000,
        media=("新京报",),
    )
    decision = assess(burst, previous=None)
    assert decision.tier in {Tier.ORANGE, Tier.RED}
    assert decision.score >= 75
    assert decision.raised and decision.changed
    assert "负面占比 95% (57/60)" in decision.reasons
    assert "媒体账号 新京报 参与" in decision.reasons
    assert any(reason.startswith("声量为基线的 60 倍") for reason in decision.reasons)
    assert decision.components["window_count"] == 60
    assert decision.components["baseline_count"] == 40
    for name in ("spike", "negative_share", "velocity", "reach", "amplification"):
        assert 0.0 <= decision.components[name] <= 1.0


def test_quiet_watchlist_stays_without_tier() -> None:
    # Steady chatter: 96 mentions a day is one per window, and one came in this window.
    decision = assess(stats(1, 0, recent=0, baseline=96, followers=300), previous=None)
    assert decision.tier is None
    assert not decision.changed and not decision.raised


def test_small_negative_blip_is_at_most_blue() -> None:
    decision = assess(stats(3, 1, baseline=96, followers=2_000), previous=None)
    assert decision.tier in {None, Tier.BLUE}
    assert not decision.raised


def test_four_negative_posts_stay_blue_below_the_minimum_volume() -> None:
    few = stats(4, 4, baseline=0, followers=5_000_000, media=("新京报",))
    decision = assess(few, previous=None)
    assert decision.raw_tier is Tier.BLUE
    assert decision.tier is Tier.BLUE
    assert decision.score >= 35  # the score alone would be a crisis …
    assert not decision.raised  # … but four posts do not open an incident
    assert any("未达最低声量 5 条" in reason for reason in decision.reasons)


def test_spike_saturates_at_sixteen_times_the_baseline_and_is_zero_at_or_below_it() -> None:
    assert components(stats(16, 0, baseline=96)).spike == pytest.approx(1.0)
    assert components(stats(4, 0, baseline=96)).spike == pytest.approx(0.5)
    assert components(stats(1, 0, baseline=96)).spike == 0.0
    assert components(stats(0, 0, baseline=960)).spike == 0.0
    # A baseline below one mention per window counts as one.
    assert components(stats(2, 0, baseline=0)).baseline_per_window == 1.0


def test_components_follow_their_definitions() -> None:
    parts = components(stats(20, 5, recent=4, baseline=288, followers=999_999, kol=("大V",)))
    assert parts.negative_share == 0.25
    assert parts.expected_recent == 1.0
    assert parts.velocity == pytest.approx(0.5)  # 4× the 5-minute baseline
    assert parts.reach == pytest.approx(6 / 7, abs=1e-4)
    assert parts.amplification == 0.6
    assert components(stats(20, 5, media=("新京报",), kol=("大V",))).amplification == 1.0


def test_tiers_follow_the_score_bands() -> None:
    assert tier_for(75, 100) is Tier.RED
    assert tier_for(74.9, 100) is Tier.ORANGE
    assert tier_for(55, 100) is Tier.ORANGE
    assert tier_for(35, 100) is Tier.YELLOW
    assert tier_for(15, 100) is Tier.BLUE
    assert tier_for(14.9, 100) is None
    assert tier_for(90, 4) is Tier.BLUE


def test_hysteresis_does_not_flap_around_a_boundary() -> None:
    tier: Tier | None = None
    history = []
    for score in [56, 53, 57, 50, 54, 46, 55, 44.9, 30]:
        tier = with_hysteresis(tier, tier_for(score, 100), score)
        history.append(tier)
    assert history == [
        Tier.ORANGE,  # rise applies at once
        Tier.ORANGE,  # 53 is under 55 but not under 45
        Tier.ORANGE,
        Tier.ORANGE,
        Tier.ORANGE,
        Tier.ORANGE,
        Tier.ORANGE,
        Tier.YELLOW,  # 44.9 < 55 - 10: drop to the tier the score reaches
        Tier.YELLOW,  # 30 is under 35 but not under 25
    ]


def test_a_drop_is_recorded_but_not_raised() -> None:
    calm = stats(6, 0, recent=0, baseline=96 * 6)
    decision = assess(calm, previous=Tier.ORANGE)
    assert decision.tier is None
    assert decision.changed and not decision.raised
    assert any("降级" in reason for reason in decision.reasons)


def test_a_rise_within_crisis_tiers_is_raised_again() -> None:
    burst = stats(60, 57, baseline=40, followers=3_000_000, media=("新京报",))
    assert assess(burst, previous=Tier.YELLOW).raised
    assert not assess(burst, previous=Tier.RED).changed
