"""The risk model on constructed windows: components, tiers, hysteresis, forecast, reasons."""

import math
import uuid
from dataclasses import replace
from datetime import UTC, datetime

from libs.contracts.enums import CrisisType, Tier
from services.analysis.risk import (
    FLOORS,
    HARM_SHARE_FULL,
    HYSTERESIS,
    MIN_VOLUME,
    WEIGHTS,
    assess,
    components,
    forecast,
    tier_for,
    with_hysteresis,
)
from services.analysis.window import (
    BASELINE_WINDOWS,
    History,
    StoryStats,
    WindowStats,
    window_bounds,
)

NOW = datetime(2025, 3, 15, 20, 0, tzinfo=UTC)
_, WINDOW_START, _, WINDOW_END = window_bounds(NOW)


def series(harm: tuple[int, ...]) -> History:
    """A history of whole windows in which every mention was harmful."""
    return History(volume=harm, harm=harm, windows=len(harm))


def steady(per_window: int) -> tuple[int, ...]:
    return (per_window,) * BASELINE_WINDOWS


def stats(
    window: int,
    negative: int,
    *,
    recent: int | None = None,
    baseline: tuple[int, ...] = steady(1),
    **extra: object,
) -> WindowStats:
    """A window whose harmful mentions are its negative ones, unless `extra` says otherwise.

    As many of them as of all mentions fall in the last five minutes (`recent`, all by
    default), so a rise counts as still going on.
    """
    recent_count = window if recent is None else recent
    harm = extra.pop("harm_count", negative)
    assert isinstance(harm, int)
    facts: dict[str, object] = {
        "harm_count": harm,
        "recent_harm_count": min(harm, recent_count),
        "history": series(baseline),
        **extra,
    }
    return WindowStats(
        window_start=WINDOW_START,
        window_end=WINDOW_END,
        window_count=window,
        negative_count=negative,
        recent_count=recent_count,
        top_mention_ids=(uuid.uuid4(),),
        **facts,  # type: ignore[arg-type]
    )


def test_weights_sum_to_one_and_floors_descend() -> None:
    assert abs(sum(WEIGHTS.values()) - 1.0) < 1e-9
    floors = list(FLOORS.values())
    assert floors == sorted(floors, reverse=True)


def test_demo_burst_with_media_sensitive_terms_and_a_cluster_is_red() -> None:
    burst = stats(
        60,
        57,
        baseline=steady(0)[:-40] + (1,) * 40,
        followers=3_000_000 + 59 * 200,
        views=250_000,
        media_authors=("晨潮新闻",),
        sensitive_max=0.6,
        sensitive_mentions=30,
        sensitive_terms=("异物", "维权"),
        crisis_type=CrisisType.PRODUCT_QUALITY,
        crisis_mentions=40,
        crisis_evidence=("异物×30",),
        top_story=StoryStats(uuid.uuid4(), window_count=20, negative_authors=18),
    )
    decision = assess(burst, previous=None)
    assert decision.tier is Tier.RED and decision.raised and decision.changed
    assert decision.components["spike_test"]["is_spike"] is True
    assert "媒体账号 晨潮新闻 参与" in decision.reasons
    assert "负面占比 95% (57/60)" in decision.reasons
    assert any(r.startswith("敏感词：异物、维权") for r in decision.reasons)
    assert any(r.startswith("危机类型：产品质量（依据：异物×30）") for r in decision.reasons)
    assert any(r.startswith("投诉集中：同一话题 20 条，18 位用户") for r in decision.reasons)
    for name in WEIGHTS:
        assert 0.0 <= decision.components[name] <= 1.0
    assert decision.components["crisis_type"] > 0 and decision.components["clustering"] == 1.0


def test_the_same_volume_is_unremarkable_for_a_noisy_series() -> None:
    # 30 complaints in a window: a spike for a series that sees ~2 per window, not for one
    # whose windows swing between 0 and 60.
    quiet = components(stats(30, 30, baseline=steady(2)))
    noisy = components(stats(30, 30, baseline=(0, 60) * (BASELINE_WINDOWS // 2)))
    assert quiet.spike_test.is_spike and quiet.spike > 0.9
    assert not noisy.spike_test.is_spike and noisy.spike == 0.0


def test_quiet_watchlist_stays_without_tier() -> None:
    decision = assess(stats(1, 0, recent=0, baseline=steady(1), followers=300), previous=None)
    assert decision.tier is None
    assert not decision.changed and not decision.raised


def test_small_negative_blip_is_capped_at_blue_below_minimum_volume() -> None:
    blip = stats(
        MIN_VOLUME - 1,
        MIN_VOLUME - 1,
        baseline=steady(0),
        media_authors=("晨潮新闻",),
        followers=5_000_000,
        sensitive_max=1.0,
        sensitive_mentions=MIN_VOLUME - 1,
    )
    decision = assess(blip, previous=None)
    assert decision.score >= FLOORS[Tier.YELLOW]
    assert decision.tier is Tier.BLUE and not decision.raised
    assert any("未达最低声量" in r for r in decision.reasons)


def test_tier_for_follows_floors() -> None:
    assert tier_for(FLOORS[Tier.RED], 100) is Tier.RED
    assert tier_for(FLOORS[Tier.ORANGE], 100) is Tier.ORANGE
    assert tier_for(FLOORS[Tier.BLUE] - 0.01, 100) is None


def test_hysteresis_holds_a_tier_until_the_score_drops_well_below_its_floor() -> None:
    floor = FLOORS[Tier.ORANGE]
    assert with_hysteresis(Tier.ORANGE, Tier.YELLOW, floor - HYSTERESIS + 0.1) is Tier.ORANGE
    assert with_hysteresis(Tier.ORANGE, Tier.YELLOW, floor - HYSTERESIS - 0.1) is Tier.YELLOW
    assert with_hysteresis(Tier.YELLOW, Tier.RED, 90.0) is Tier.RED


def test_a_score_oscillating_around_a_floor_changes_tier_once() -> None:
    tiers = []
    tier: Tier | None = None
    for score in [56, 54, 57, 53, 55.5, 52, 58]:
        tier = with_hysteresis(tier, tier_for(score, 100), score)
        tiers.append(tier)
    assert set(tiers) == {Tier.ORANGE}


def test_forecast_names_the_minute_the_next_tier_would_be_reached() -> None:
    # Six posts, all in the last 5 minutes (1.2 a minute), four negative: blue for now.
    rising = stats(6, 4, recent=6, baseline=steady(1), followers=1_000)
    decision = assess(rising, previous=None)
    assert decision.tier is Tier.BLUE
    assert decision.forecast is not None
    assert decision.forecast.next_tier is Tier.YELLOW
    assert decision.forecast.rate_per_minute == 1.2
    assert decision.forecast.eta_minutes is not None and decision.forecast.eta_minutes >= 1
    assert decision.forecast.projected_score >= FLOORS[Tier.YELLOW]
    assert any(r.startswith("预测：按当前每分钟 1.2 条的速度") for r in decision.reasons)


def test_forecast_is_empty_when_nothing_arrives_or_already_red() -> None:
    assert forecast(stats(10, 9, recent=0), None) is None
    assert forecast(stats(10, 9), Tier.RED) is None
    levelling = forecast(stats(6, 0, recent=1, baseline=steady(1)), None)
    assert levelling is not None and levelling.eta_minutes is None


def test_spike_cooldown_suppresses_a_repeat_but_not_a_bigger_wave() -> None:
    # The cooldown compares harm: the first spike is recorded with its 20 harmful mentions.
    wave = stats(40, 20, baseline=steady(1))
    first = assess(wave, previous=None)
    assert first.spike_fired
    repeat = assess(replace(wave, windows_since_spike=1, last_spike_count=20), Tier.YELLOW)
    assert not repeat.spike_fired
    bigger = assess(
        replace(
            wave,
            window_count=400,
            negative_count=200,
            harm_count=200,
            windows_since_spike=1,
            last_spike_count=20,
        ),
        Tier.YELLOW,
    )
    assert bigger.spike_fired


def test_a_wave_of_praise_counts_as_attention_not_harm() -> None:
    # 220 mentions against ~2 a window, 22 of them harmful: the harm is real but is the
    # tail of the wave's attention, so spike and velocity count a third.
    quiet = History(volume=steady(2), harm=steady(0), windows=BASELINE_WINDOWS)
    praise = stats(220, 22, positive_count=198, history=quiet)
    parts = components(praise)
    assert parts.spike_test.is_spike and parts.harm_weight == round(0.1 / HARM_SHARE_FULL, 4)
    assert parts.spike == round(parts.harm_weight, 4) and parts.volume_ratio == 110
    decision = assess(praise, previous=None)
    assert not decision.spike_fired
    assert (
        "声量为基线的 110 倍，但其中 90% 为正面，风险声量仅占 10%（22/220）："
        "关注度而非危害，突增与速度按 33% 计"
    ) in decision.reasons
    angry = assess(stats(220, 88, positive_count=132, history=quiet), previous=None)
    assert angry.spike_fired and angry.components["harm_weight"] == 1.0
    assert angry.score - decision.score > 20
    assert not any("为正面" in r for r in angry.reasons)


def test_sensitive_mentions_count_as_harm_whatever_their_sentiment() -> None:
    quiet = History(volume=steady(1), harm=steady(0), windows=BASELINE_WINDOWS)
    alarmed = components(stats(30, 0, harm_count=30, history=quiet))
    calm = components(stats(30, 0, harm_count=0, history=quiet))
    assert alarmed.spike_test.is_spike and alarmed.spike == 1.0
    assert not calm.spike_test.is_spike and calm.spike == 0.0 and calm.velocity == 0.0


def test_without_history_harm_is_weighed_against_an_absolute_floor() -> None:
    young = History(volume=(10, 10), harm=(2, 2), windows=2)
    chatter = assess(stats(10, 2, history=young), previous=None)
    assert chatter.components["baseline"] == {
        "kind": "none",
        "label": "no baseline yet: absolute evidence only",
        "history_windows": 2,
        "recent_windows": 2,
        "seasonal_windows": 0,
    }
    assert chatter.components["spike"] == 0.0 and chatter.tier is None
    assert "尚无基线（首次提及以来不足 2 小时）：仅依据绝对证据" in chatter.reasons
    burst = components(stats(40, 40, history=young))
    # 40 harmful mentions are 8 times the floor of 5: three of the four octaves.
    assert burst.spike_test.reason == "short_baseline" and burst.spike == 0.75


def test_each_decision_names_its_baseline() -> None:
    def label(history: History) -> str:
        return str(assess(stats(1, 0, history=history), None).components["baseline"]["label"])

    assert label(series((1,) * 12)) == "baseline: 3 h since first mention"
    assert label(series((1,) * 10)) == "baseline: 2.5 h since first mention"
    assert label(series(steady(1))) == "baseline: last 24 h"
    week = History(volume=steady(1), harm=steady(1), seasonal=(1,) * 21, windows=700)
    assert label(week) == "baseline: same time of day over 7 days, and the last 24 h"
    reasons = assess(stats(1, 0, history=series((1,) * 12)), None).reasons
    assert "基线：首次提及以来 3 小时" in reasons


def test_with_a_week_the_less_surprising_of_day_and_time_of_day_counts() -> None:
    # Mornings bring ~12 harmful mentions a window; the last 24 hours mostly 0 or 1.
    day = (0,) * 88 + (12,) * 8
    week = History(volume=day, harm=day, seasonal=(12, 11, 13) * 7, windows=800)
    morning = components(stats(12, 12, history=week))
    assert morning.recent_test is not None and morning.recent_test.is_spike
    assert morning.seasonal_test is not None and not morning.seasonal_test.is_spike
    assert morning.spike_test is morning.seasonal_test and morning.spike == 0.0
    # A level the last day has seen is no spike either, however quiet this slot was.
    nights = History(volume=steady(12), harm=steady(12), seasonal=(0,) * 21, windows=800)
    assert not components(stats(12, 12, history=nights)).spike_test.is_spike
    # A real crisis is unusual against both.
    crisis = components(stats(80, 80, history=week))
    assert crisis.spike_test is crisis.seasonal_test and crisis.spike_test.is_spike
    assert crisis.spike == round(math.log2(80 / 12) / 4, 4)
