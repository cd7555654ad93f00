"""Spike detection on real brand-mention volume with labelled anomaly windows (NAB realTweets).

Three tail tests run through the same `SpikeDetector` (same floors, minimum volume, ratio,
persistence and memory of the last spike), so the tables compare the tests themselves: a
z-score on the plain trailing mean and standard deviation, a Poisson tail on the robust
mean, and the negative-binomial tail on the robust mean and variance (the default).
Scoring follows NAB's convention: the first 15 % of each series is probation; a labelled
window is detected when an alert fires inside it; alerts outside every window are false
alerts. Many real spikes in these series
are not labelled, so false alerts are an upper bound and the detectors are compared side by
side, not by one absolute score.

Run: `.venv/bin/python bench/spike_eval.py [--data PATH] [--jobs N]`; figures in docs/spikes.md.
"""

import argparse
import csv
import json
import os
import statistics
import sys
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from services.analysis.spikes import COOLDOWN, DEFAULT, Estimator, SpikeConfig, SpikeDetector, Test

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "nab-realtweets"
BUCKET = timedelta(minutes=5)
DAY = timedelta(days=1)
# Alphas of the sweep; 1.35e-3 is the one-sided tail of a z-score of 3.
ALPHAS = (1.35e-3, 1e-4, 1e-6)
TESTS: tuple[tuple[Test, Estimator], ...] = (
    ("zscore", "moments"),
    ("poisson", "robust"),
    ("negbin", "robust"),
)


@dataclass(frozen=True)
class Series:
    """One labelled series: 5-minute bucket start times and counts, windows and labels."""

    name: str
    times: tuple[datetime, ...]
    counts: tuple[int, ...]
    windows: tuple[tuple[datetime, datetime], ...]
    labels: tuple[datetime, ...]


@dataclass(frozen=True)
class Setting:
    """One row of a table: a detector configuration at a granularity (buckets per window)."""

    label: str
    buckets: int
    config: SpikeConfig


@dataclass(frozen=True)
class SeriesScore:
    """One series under one setting, with and without the cooldown."""

    name: str
    windows: int
    detected: int
    delays_h: tuple[float, ...]
    offsets_h: tuple[float, ...]
    false_alerts: int
    detected_no_cooldown: int
    false_alerts_no_cooldown: int
    days: float


def load(data: Path) -> list[Series]:
    """Read the NAB files, failing with a clear message when they are not there."""
    windows_file = data / "combined_windows.json"
    labels_file = data / "combined_labels.json"
    files = sorted(data.glob("Twitter_volume_*.csv")) if data.is_dir() else []
    if not files or not windows_file.is_file() or not labels_file.is_file():
        sys.exit(
            f"spike_eval: NAB realTweets data not found in {data} (expected "
            "Twitter_volume_*.csv, combined_windows.json and combined_labels.json); "
            "pass --data PATH"
        )
    all_windows = json.loads(windows_file.read_text())
    all_labels = json.loads(labels_file.read_text())
    series = []
    for path in files:
        key = f"realTweets/{path.name}"
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        series.append(
            Series(
                name=path.stem.removeprefix("Twitter_volume_"),
                times=tuple(datetime.fromisoformat(row["timestamp"]) for row in rows),
                counts=tuple(int(row["value"]) for row in rows),
                windows=tuple(
                    (datetime.fromisoformat(a), datetime.fromisoformat(b))
                    for a, b in all_windows[key]
                ),
                labels=tuple(datetime.fromisoformat(t) for t in all_labels[key]),
            )
        )
    return series


def score(series: Series, setting: Setting, probation: float) -> SeriesScore:
    """Run the detector over one series and score its alerts against the labelled windows.

    A coarser window sums `buckets` consecutive buckets and is stamped with its last
    bucket's time; its last bucket is the velocity span the persistence check reads.
    Windows that end inside probation are not scored.
    """
    detector = SpikeDetector(setting.config)
    start = series.times[int(probation * len(series.times))]
    end = series.times[-1] + BUCKET
    alerts: list[datetime] = []
    raw_alerts: list[datetime] = []
    step = setting.buckets
    for i in range(0, len(series.counts) - step + 1, step):
        result = detector.step(sum(series.counts[i : i + step]), series.counts[i + step - 1])
        at = series.times[i + step - 1]
        if at < start:
            continue
        if result.is_spike:
            alerts.append(at)
        if result.is_spike or result.reason == COOLDOWN:
            raw_alerts.append(at)
    scored = [(a, b) for a, b in series.windows if b >= start]
    delays, offsets = [], []
    for a, b in scored:
        inside = [t for t in alerts if a <= t <= b]
        if inside:
            label = next(t for t in series.labels if a <= t <= b)
            delays.append((inside[0] - a) / timedelta(hours=1))
            offsets.append((inside[0] - label) / timedelta(hours=1))
    return SeriesScore(
        name=series.name,
        windows=len(scored),
        detected=len(delays),
        delays_h=tuple(delays),
        offsets_h=tuple(offsets),
        false_alerts=_outside(alerts, scored),
        detected_no_cooldown=sum(any(a <= t <= b for t in raw_alerts) for a, b in scored),
        false_alerts_no_cooldown=_outside(raw_alerts, scored),
        days=(end - start) / DAY,
    )


def _outside(alerts: Iterable[datetime], windows: list[tuple[datetime, datetime]]) -> int:
    return sum(not any(a <= t <= b for a, b in windows) for t in alerts)


def run(
    settings: list[Setting], series: list[Series], probation: float, jobs: int
) -> dict[Setting, list[SeriesScore]]:
    """Score every setting on every series, spread over processes (the detector is pure)."""
    tasks = [(setting, one) for setting in settings for one in series]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(score, one, setting, probation) for setting, one in tasks]
        results: dict[Setting, list[SeriesScore]] = {setting: [] for setting in settings}
        for (setting, _), future in zip(tasks, futures, strict=True):
            results[setting].append(future.result())
    return results


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.1f}" if values else "–"


def totals_row(label: str, scores: list[SeriesScore]) -> str:
    """Return one markdown row with the totals of a setting over all series."""
    windows = sum(s.windows for s in scores)
    days = sum(s.days for s in scores)
    detected = sum(s.detected for s in scores)
    false_alerts = sum(s.false_alerts for s in scores)
    raw_fa = sum(s.false_alerts_no_cooldown for s in scores)
    raw_detected = sum(s.detected_no_cooldown for s in scores)
    delays = [d for s in scores for d in s.delays_h]
    offsets = [d for s in scores for d in s.offsets_h]
    return (
        f"| {label} | {detected}/{windows} | {_median(delays)} | {_median(offsets)} | "
        f"{false_alerts} | {false_alerts / days:.2f} | {raw_detected}/{windows} | "
        f"{raw_fa / days:.2f} |"
    )


TOTALS_HEADER = (
    "| detector | windows detected | median delay from window start (h) | "
    "median first alert − label (h) | false alerts | false alerts / series-day | "
    "detected, no cooldown | false alerts / series-day, no cooldown |\n"
    "|---|---|---|---|---|---|---|---|"
)


def per_series_table(settings: list[Setting], results: dict[Setting, list[SeriesScore]]) -> str:
    """Return a markdown table: per series, detected/windows and false alerts per setting."""
    head = "| series | days | " + " | ".join(s.label for s in settings) + " |"
    rule = "|---|---|" + "---|" * len(settings)
    lines = [head, rule]
    for i, first in enumerate(results[settings[0]]):
        cells = [
            f"{results[s][i].detected}/{results[s][i].windows}, {results[s][i].false_alerts} fa"
            for s in settings
        ]
        lines.append(f"| {first.name} | {first.days:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def name(test: str, estimator: str, alpha: float) -> str:
    """Return a short row label for a test at an alpha."""
    suffix = "" if (test, estimator) in TESTS else f" ({estimator})"
    return f"{test}{suffix} α={alpha:.3g}"


def _with(base: SpikeConfig, test: Test, estimator: Estimator, alpha: float) -> SpikeConfig:
    return replace(base, test=test, estimator=estimator, alpha=alpha)


def main() -> None:
    """Print the sweep, the per-series table and the ablations as markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="NAB realTweets folder")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--probation", type=float, default=0.15, help="fraction not scored")
    args = parser.parse_args()
    series = load(args.data)

    # The same minimum volume, ratio, floors and (in wall-clock terms) memory everywhere;
    # 5-minute buckets use a 24 h baseline of 288 buckets and a half-life of 288 buckets, and
    # are their own velocity span.
    granularities = {
        1: replace(
            DEFAULT,
            baseline_windows=3 * DEFAULT.baseline_windows,
            cooldown_windows=3 * DEFAULT.cooldown_windows,
            spans_per_window=1,
        ),
        3: DEFAULT,
    }
    sweep = {
        buckets: [
            Setting(name(test, estimator, alpha), buckets, _with(base, test, estimator, alpha))
            for test, estimator in TESTS
            for alpha in sorted({*ALPHAS, DEFAULT.alpha}, reverse=True)
        ]
        for buckets, base in granularities.items()
    }
    before = replace(DEFAULT, memory="fixed", escalation=2.0, persist_ratio=0.0)
    ablation = [
        Setting(f"min_ratio {r:g}", 3, replace(DEFAULT, min_ratio=r)) for r in (1.0, 3.0)
    ] + [
        Setting("min_volume 20", 3, replace(DEFAULT, min_volume=20)),
        Setting("previous rule: fixed 24 h cooldown, escalation 2, no persistence", 3, before),
        Setting("fixed 24 h cooldown, escalation 2", 3, replace(before, persist_ratio=2.0)),
        Setting("no persistence check", 3, replace(DEFAULT, persist_ratio=0.0)),
        Setting("persist_ratio 1", 3, replace(DEFAULT, persist_ratio=1.0)),
        Setting("persist_ratio 3", 3, replace(DEFAULT, persist_ratio=3.0)),
        Setting("half-life 48 windows (12 h)", 3, replace(DEFAULT, cooldown_windows=48)),
        Setting("half-life 192 windows (48 h)", 3, replace(DEFAULT, cooldown_windows=192)),
        Setting("escalation 2", 3, replace(DEFAULT, escalation=2.0)),
        Setting("escalation 8", 3, replace(DEFAULT, escalation=8.0)),
        Setting("estimator: plain moments", 3, replace(DEFAULT, estimator="moments")),
        Setting("poisson, plain mean", 3, _with(DEFAULT, "poisson", "moments", DEFAULT.alpha)),
        Setting("zscore, robust mean/IQR", 3, _with(DEFAULT, "zscore", "robust", DEFAULT.alpha)),
    ]
    settings = [s for group in sweep.values() for s in group] + ablation
    results = run(settings, series, args.probation, args.jobs)

    days = sum(s.days for s in results[settings[0]])
    print(f"series: {len(series)}, scored series-days: {days:.1f}, probation {args.probation:.0%}")
    print(f"defaults: {DEFAULT}\n")
    for buckets, group in sweep.items():
        minutes = buckets * 5
        print(
            f"### {minutes}-minute windows, baseline {group[0].config.baseline_windows} windows\n"
        )
        print(TOTALS_HEADER)
        for setting in group:
            print(totals_row(setting.label, results[setting]))
        print()
    chosen = [s for s in sweep[3] if s.config.alpha == DEFAULT.alpha]
    print(
        f"### Per series, 15-minute windows, α={DEFAULT.alpha:g} (detected/windows, false alerts)\n"
    )
    print(per_series_table(chosen, results))
    print("\n### Ablations around DEFAULT (15-minute windows)\n")
    print(TOTALS_HEADER)
    print(totals_row("DEFAULT", results[chosen[-1]]))
    for setting in ablation:
        print(totals_row(setting.label, results[setting]))


if __name__ == "__main__":
    main()
