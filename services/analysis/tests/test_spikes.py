"""Spike tests on constructed baselines, checked against scipy's distributions."""

from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from services.analysis import spikes
from services.analysis.spikes import DEFAULT, SpikeConfig, SpikeDetector, estimate, in_cooldown

POISSON = replace(DEFAULT, test="poisson")
ZSCORE = replace(DEFAULT, test="zscore", estimator="moments")


def poisson_baseline(mean: float, size: int = 96, seed: int = 7) -> list[int]:
    return [int(v) for v in np.random.default_rng(seed).poisson(mean, size)]


def overdispersed_baseline(size: int = 96) -> list[int]:
    # Quiet nights and busy afternoons: mean ~12, variance ~150.
    return [[1, 2, 3, 30, 25][i % 5] for i in range(size)]


def test_a_big_jump_on_a_poisson_like_baseline_spikes() -> None:
    result = spikes.test_window(40, poisson_baseline(10.0))
    assert result.is_spike
    assert result.reason == spikes.SPIKE
    assert result.p_value < DEFAULT.alpha
    assert result.ratio >= DEFAULT.min_ratio
    # On Poisson-like data the variance stays at its floor, the mean.
    assert result.variance == pytest.approx(result.expected, rel=0.5)


def test_the_same_jump_on_an_overdispersed_baseline_does_not_spike_but_poisson_would() -> None:
    baseline = overdispersed_baseline()
    negbin = spikes.test_window(40, baseline)
    poisson = spikes.test_window(40, baseline, POISSON)
    assert negbin.expected == poisson.expected
    assert negbin.variance > 5 * negbin.expected
    assert not negbin.is_spike
    assert negbin.reason == spikes.NOT_SIGNIFICANT
    assert poisson.is_spike


def test_a_window_below_the_minimum_volume_never_spikes() -> None:
    config = replace(DEFAULT, min_volume=20)
    silent = [0] * 96
    below = spikes.test_window(config.min_volume - 1, silent, config)
    at = spikes.test_window(config.min_volume, silent, config)
    assert below.p_value < config.alpha
    assert not below.is_spike
    assert below.reason == spikes.BELOW_MIN_VOLUME
    assert at.is_spike
    # A silent baseline is floored, not zero: the ratio stays finite.
    assert at.expected == config.min_expected
    assert at.ratio == config.min_volume / config.min_expected


def test_a_significant_window_below_the_minimum_ratio_does_not_spike() -> None:
    steady = [1000] * 96
    result = spikes.test_window(1300, steady)
    assert result.p_value < DEFAULT.alpha
    assert not result.is_spike
    assert result.reason == spikes.BELOW_MIN_RATIO


def test_a_past_spike_in_the_baseline_does_not_mask_the_next_one() -> None:
    baseline = poisson_baseline(10.0)
    baseline[40:48] = [200] * 8
    robust = spikes.test_window(60, baseline)
    moments = spikes.test_window(60, baseline, replace(DEFAULT, estimator="moments"))
    assert robust.is_spike
    assert not moments.is_spike


def test_cooldown_suppresses_a_repeat_but_not_a_clearly_higher_spike() -> None:
    detector = SpikeDetector()
    for count in poisson_baseline(10.0):
        assert not detector.step(count).is_spike
    first = detector.step(60)
    repeat = detector.step(70)
    higher = detector.step(int(DEFAULT.escalation * 60))
    assert first.is_spike
    assert not repeat.is_spike
    assert repeat.reason == spikes.COOLDOWN
    assert higher.is_spike


def test_a_repeat_spikes_again_once_the_last_spike_has_faded() -> None:
    # Half-life 3 windows, escalation 4: a repeat as large as the spike needs two half-lives.
    config = replace(DEFAULT, cooldown_windows=3, escalation=4.0)
    detector = SpikeDetector(config)
    for count in poisson_baseline(10.0):
        detector.step(count)
    assert detector.step(60).is_spike
    for _ in range(4):
        detector.step(10)
    # Five windows on, the bar is 4 x 60 x 2^(-5/3) = 75.6.
    assert detector.step(60).reason == spikes.COOLDOWN
    detector.step(10)
    # Seven windows on, it is 47.6.
    assert detector.step(60).is_spike


def test_in_cooldown_rule() -> None:
    config = SpikeConfig(cooldown_windows=96, escalation=4.0)
    assert not in_cooldown(None, None, 50, config)
    # Right after a spike of 50 the bar is 4 x 50; it halves every 96 windows.
    assert in_cooldown(50, 1, 198, config)
    assert not in_cooldown(50, 1, 200, config)
    assert in_cooldown(50, 96, 99, config)
    assert not in_cooldown(50, 96, 100, config)
    assert in_cooldown(50, 192, 49, config)
    assert not in_cooldown(50, 192, 50, config)
    assert not in_cooldown(50, 1, 10**6, replace(config, cooldown_windows=0))


def test_the_fixed_cooldown_ends_after_its_windows() -> None:
    config = SpikeConfig(cooldown_windows=96, escalation=2.0, memory="fixed")
    assert in_cooldown(50, 1, 99, config)
    assert not in_cooldown(50, 1, 100, config)
    assert in_cooldown(50, 96, 99, config)
    assert not in_cooldown(50, 97, 50, config)


def test_a_burst_over_before_the_window_ends_does_not_spike() -> None:
    baseline = poisson_baseline(10.0)
    # 60 mentions in 15 minutes, but only 5 in the last 5: the rise did not hold.
    over = spikes.test_window(60, baseline, recent=5)
    held = spikes.test_window(60, baseline, recent=20)
    unknown = spikes.test_window(60, baseline)
    assert over.p_value == held.p_value < DEFAULT.alpha
    assert not over.is_spike
    assert over.reason == spikes.NOT_PERSISTENT
    # The last span must hold persist_ratio x its share of the expected count.
    assert 5 < DEFAULT.persist_ratio * over.expected / DEFAULT.spans_per_window <= 20
    assert held.is_spike
    assert unknown.is_spike
    assert spikes.test_window(60, baseline, replace(DEFAULT, persist_ratio=0.0), 0).is_spike


def test_the_detector_checks_persistence_when_given_the_last_span() -> None:
    detector = SpikeDetector()
    for count in poisson_baseline(10.0):
        detector.step(count, count // 3)
    assert detector.step(60, 2).reason == spikes.NOT_PERSISTENT
    # A window that failed persistence is no spike, so it leaves no memory behind.
    assert detector.step(60, 30).is_spike


def test_an_empty_or_short_baseline_is_not_tested() -> None:
    empty = spikes.test_window(500, [])
    short = spikes.test_window(500, [1] * (DEFAULT.min_baseline_windows - 1))
    enough = spikes.test_window(500, [1] * DEFAULT.min_baseline_windows)
    for result in (empty, short):
        assert not result.is_spike
        assert result.reason == spikes.SHORT_BASELINE
        assert result.p_value == 1.0
        assert result.surprise == 0.0
    assert empty.expected == DEFAULT.min_expected
    assert enough.is_spike


def test_only_the_last_baseline_windows_count() -> None:
    config = replace(DEFAULT, baseline_windows=10)
    old_noise = [500] * 50
    result = spikes.test_window(40, old_noise + [10] * 10, config)
    assert result.expected == 10.0
    assert result.is_spike


def test_negative_binomial_p_value_matches_scipy() -> None:
    baseline = [4, 16] * 48
    config = replace(DEFAULT, estimator="moments")
    mean = float(np.mean(baseline))
    variance = float(np.var(baseline, ddof=1))
    result = spikes.test_window(30, baseline, config)
    # Method of moments: n = mean^2 / (variance - mean), p = mean / variance.
    n, p = mean**2 / (variance - mean), mean / variance
    assert stats.nbinom.mean(n, p) == pytest.approx(mean)
    assert stats.nbinom.var(n, p) == pytest.approx(variance)
    assert result.expected == mean
    assert result.variance == variance
    assert result.p_value == pytest.approx(1.0 - stats.nbinom.cdf(29, n, p), rel=1e-9)
    assert result.surprise == pytest.approx(-np.log10(result.p_value), abs=1e-4)


def test_poisson_and_zscore_p_values_match_scipy() -> None:
    assert spikes.tail_p_value(25, 10.0, 10.0, "poisson") == pytest.approx(
        1.0 - stats.poisson.cdf(24, 10.0), rel=1e-9
    )
    assert spikes.tail_p_value(25, 10.0, 25.0, "zscore") == pytest.approx(
        stats.norm.sf(3.0), rel=1e-9
    )
    # At the variance floor the negative binomial is the Poisson.
    assert spikes.tail_p_value(25, 10.0, 10.0, "negbin") == spikes.tail_p_value(
        25, 10.0, 10.0, "poisson"
    )


def test_robust_estimate_matches_scipy_trimmed_mean_and_numpy_iqr() -> None:
    values = [int(v) for v in np.random.default_rng(3).negative_binomial(3, 0.2, 96)]
    expected, variance = estimate(values)
    q25, q75 = np.quantile(values, [0.25, 0.75])
    assert expected == pytest.approx(stats.trim_mean(values, DEFAULT.trim))
    assert variance == pytest.approx(max(expected, ((q75 - q25) / spikes.IQR_PER_SD) ** 2))


def test_surprise_is_capped() -> None:
    result = spikes.test_window(10_000, poisson_baseline(10.0))
    assert result.surprise == DEFAULT.surprise_cap


def test_the_detector_is_deterministic() -> None:
    counts = [int(v) for v in np.random.default_rng(11).negative_binomial(2, 0.1, 400)]
    counts[200:204] = [400, 420, 900, 300]
    config = SpikeConfig(baseline_windows=48)
    one, two = SpikeDetector(config), SpikeDetector(config)
    first = [one.step(c) for c in counts]
    second = [two.step(c) for c in counts]
    assert first == second
    assert any(r.is_spike for r in first)
