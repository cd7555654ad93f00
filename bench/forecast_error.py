"""The incident forecast's error on the scripted bench streams, against what really followed.

Each stream of `detection_streams.py` is played through the real analysis and incidents
workers as `detection_eval.py` plays it (same organization per stream, same clock, `--step`
minutes of posts per step), followed by four hours of its own opening chatter, so that
every moment of the scripted part has a four-hour future. Then, every 15 minutes of stream
time at which the watchlist stands at yellow or above (an incident is open), the forecast
is made from exactly what the service would have read then (`libs.forecast.inputs.windows`
over the minute rollups, the latest tier decision as the anchor, the reach since the first
crisis decision) and compared with what the stream did next:

- reach in 1 h and 4 h: mean absolute error, and the median of the absolute error relative
  to the reach actually gathered;
- tier in 1 h and 4 h: the share of forecasts whose tier is the watchlist's tier then;
- time to the next tier: for forecasts that name one, the mean absolute error in minutes
  when the tier did come within four hours, and how often it did not come at all; and how
  often the next tier came within four hours without being forecast.

A naive forecast — the tier stays, mentions keep their last window's pace — is scored on
the same moments, so the figures say what the forecast adds over carrying the present on.

The streams are split by kind, once: every other stream of `STREAMS` from the first is for
tuning (`TUNING`), the others are held out (`HELD_OUT`); crises and calm streams fall in
both. Constants are chosen on the tuning streams only (`--tune` scores the dampings there
and nowhere else); the held-out figures are the ones that say how the forecast does on
streams it was not fitted to. Scoring prints held-out, tuning and all, separately.

    .venv/bin/python bench/forecast_error.py [--kinds real_crisis,slow_burn] [--step 5]
        [--save played.json]        # also keep what the streams left behind
    .venv/bin/python bench/forecast_error.py --load a.json [b.json …] [--tune]  # score only

Playing takes about five minutes a stream; play subsets in parallel processes
(`--kinds … --save part.json` each) and score them together with `--load`.
"""

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from detection_eval import Bench
from detection_streams import STREAMS, Phase, Stream
from harness import embedded_servers
from sqlmodel import col, select

from libs.contracts.enums import Tier
from libs.database.tables import MentionRollup, RiskSignal, Watchlist
from libs.forecast import Anchor, Trajectory, forecast
from libs.forecast import model as model_module
from libs.forecast.inputs import windows
from libs.forecast.model import HORIZONS, LOOKBACK_WINDOWS, WINDOW

TAIL = timedelta(hours=4)
EVERY = timedelta(minutes=15)
CRISIS = Tier.YELLOW.rank
SEARCH = timedelta(hours=4)


@dataclass(frozen=True)
class Decision:
    """A stored tier decision of the stream's watchlist."""

    at: datetime
    tier: Tier | None
    score: float
    window_count: int


@dataclass
class Played:
    """What one stream left behind: its minute buckets and tier decisions, and its span."""

    kind: str
    minutes: list[tuple[datetime, int, int]]
    decisions: list[Decision]
    live_start: datetime
    scripted_end: datetime
    end: datetime


@dataclass
class Errors:
    """Accumulated errors of one forecaster over every moment scored."""

    reach: dict[timedelta, list[tuple[float, float]]] = field(
        default_factory=lambda: {h: [] for h in HORIZONS}
    )
    tier_hits: dict[timedelta, list[bool]] = field(
        default_factory=lambda: {h: [] for h in HORIZONS}
    )
    eta_errors: list[float] = field(default_factory=list)
    eta_false: int = 0
    eta_missed: int = 0
    eta_quiet: int = 0


def with_tail(stream: Stream) -> Stream:
    """Return the stream followed by four hours of its opening chatter (no event)."""
    opening = stream.live[0]
    tail = Phase(int(TAIL / timedelta(minutes=1)), opening.per_window, opening.mix)
    return replace(stream, live=(*stream.live, tail))


async def play(bench: Bench, stream: Stream, live_start: datetime, step: timedelta) -> Played:
    """Play the stream with its tail; read its minute rollups and tier decisions."""
    await bench.play(with_tail(stream), live_start, step)
    async with bench.sessions() as session:
        watchlist = (
            await session.exec(select(Watchlist).where(col(Watchlist.name) == stream.brand))
        ).one()
        buckets = (
            await session.exec(
                select(MentionRollup).where(
                    col(MentionRollup.watchlist_id) == watchlist.id,
                    col(MentionRollup.grain_seconds) == 60,
                    col(MentionRollup.bucket_at) >= live_start - LOOKBACK_WINDOWS * WINDOW,
                )
            )
        ).all()
        signals = (
            await session.exec(
                select(RiskSignal)
                .where(col(RiskSignal.watchlist_id) == watchlist.id)
                .order_by(col(RiskSignal.created_at))
            )
        ).all()
    per_minute: dict[datetime, tuple[int, int]] = {}
    for b in buckets:
        count, reach = per_minute.get(b.bucket_at, (0, 0))
        per_minute[b.bucket_at] = (count + b.positive + b.neutral + b.negative, reach + b.reach)
    live_minutes = sum(phase.minutes for phase in stream.live)
    scripted_end = live_start + timedelta(minutes=live_minutes)
    return Played(
        kind=stream.kind,
        minutes=sorted((at, c, r) for at, (c, r) in per_minute.items()),
        decisions=[
            Decision(
                s.created_at,
                None if s.tier == "none" else Tier(s.tier),
                s.score,
                int(s.components.get("window_count") or 0),
            )
            for s in signals
        ],
        live_start=live_start,
        scripted_end=scripted_end,
        end=scripted_end + TAIL,
    )


def decision_at(played: Played, at: datetime) -> Decision | None:
    """Return the latest tier decision up to `at`."""
    found = [d for d in played.decisions if d.at <= at]
    return found[-1] if found else None


def tier_at(played: Played, at: datetime) -> Tier | None:
    """Return the watchlist's tier at `at`."""
    decision = decision_at(played, at)
    return decision.tier if decision else None


def reach_between(played: Played, since: datetime, until: datetime) -> int:
    """Return the audience of the minutes from `since` up to `until`."""
    return sum(reach for at, _, reach in played.minutes if since <= at <= until)


def rank(tier: Tier | None) -> int:
    """Return -1 below blue, else the tier's rank."""
    return -1 if tier is None else tier.rank


def next_tier_after(played: Played, at: datetime, target: Tier) -> timedelta | None:
    """Return how long after `at` the tier first reached `target`, within four hours."""
    for decision in played.decisions:
        if at < decision.at <= at + SEARCH and rank(decision.tier) >= target.rank:
            return decision.at - at
    return None


def naive_reach(reaches: Sequence[int], so_far: int, after: timedelta) -> int:
    """Return the reach if the last window's pace went on unchanged."""
    return so_far + round(reaches[-1] * (after / WINDOW))


def score(played: Played, model: Errors, naive: Errors) -> int:
    """Score both forecasters at every crisis moment of the stream; return how many."""
    crisis_start = next((d.at for d in played.decisions if rank(d.tier) >= CRISIS), None)
    if crisis_start is None:
        return 0
    at = played.live_start + EVERY
    scored = 0
    while at <= played.scripted_end:
        anchor = decision_at(played, at)
        if anchor is None or anchor.tier is None or anchor.tier.rank < CRISIS:
            at += EVERY
            continue
        counts, reaches = windows(played.minutes, at)
        so_far = reach_between(played, crisis_start, at)
        result = forecast(
            Trajectory(
                now=at,
                tier=anchor.tier,
                counts=counts,
                reaches=reaches,
                reach_so_far=so_far,
                anchor=Anchor(anchor.score, anchor.window_count),
            )
        )
        for after in HORIZONS:
            actual_reach = reach_between(played, crisis_start, at + after)
            actual_tier = tier_at(played, at + after)
            projection = result.projection(after)
            model.reach[after].append((projection.reach, actual_reach))
            naive.reach[after].append((naive_reach(reaches, so_far, after), actual_reach))
            model.tier_hits[after].append(projection.tier == actual_tier)
            naive.tier_hits[after].append(anchor.tier == actual_tier)
        if result.next_tier is not None:
            came = next_tier_after(played, at, result.next_tier)
            if result.time_to_next_tier is not None and came is not None:
                model.eta_errors.append(abs(result.time_to_next_tier - came) / timedelta(minutes=1))
            elif result.time_to_next_tier is not None:
                model.eta_false += 1
            elif came is not None:
                model.eta_missed += 1
            else:
                model.eta_quiet += 1
        scored += 1
        at += EVERY
    return scored


def _mae(pairs: list[tuple[float, float]]) -> float:
    return statistics.fmean(abs(p - a) for p, a in pairs) if pairs else float("nan")


def _relative(pairs: list[tuple[float, float]]) -> float:
    values = [abs(p - a) / a for p, a in pairs if a > 0]
    return statistics.median(values) if values else float("nan")


def _share(hits: list[bool]) -> str:
    return f"{sum(hits) / len(hits):.0%} ({sum(hits)}/{len(hits)})" if hits else "—"


def report(model: Errors, naive: Errors, moments: int, kinds: list[str]) -> str:
    """Return the Markdown tables of both forecasters' errors."""
    lines = [
        f"{moments} crisis moments (every 15 min at yellow or above) over: {', '.join(kinds)}",
        "",
        "| horizon | reach MAE (forecast) | median rel. error | reach MAE (naive) | "
        "median rel. error | tier accuracy (forecast) | tier accuracy (naive: stays) |",
        "|---|---|---|---|---|---|---|",
    ]
    for after in HORIZONS:
        hours = int(after / timedelta(hours=1))
        lines.append(
            f"| {hours} h | {_mae(model.reach[after]):,.0f} | {_relative(model.reach[after]):.0%} "
            f"| {_mae(naive.reach[after]):,.0f} | {_relative(naive.reach[after]):.0%} "
            f"| {_share(model.tier_hits[after])} | {_share(naive.tier_hits[after])} |"
        )
    errors = model.eta_errors
    eta = f"{statistics.fmean(errors):.0f} min (n={len(errors)})" if errors else "— (n=0)"
    lines += [
        "",
        "| time to next tier | value |",
        "|---|---|",
        f"| MAE where forecast and it came within 4 h | {eta} |",
        f"| forecast, but it did not come within 4 h | {model.eta_false} |",
        f"| came within 4 h, not forecast | {model.eta_missed} |",
        f"| neither forecast nor came | {model.eta_quiet} |",
    ]
    return "\n".join(lines)


async def play_all(
    database_url: str, redis_url: str, streams: list[Stream], step: timedelta
) -> list[Played]:
    """Play every stream on one pair of servers, each in its own organization."""
    bench = Bench(database_url, redis_url)
    live_start = (datetime.now(UTC) - timedelta(days=2)).replace(second=0, microsecond=0)
    played = []
    try:
        for stream in streams:
            began = time.perf_counter()
            played.append(await play(bench, stream, live_start, step))
            seconds = time.perf_counter() - began
            print(f"  {stream.kind}: played in {seconds:.0f} s", file=sys.stderr, flush=True)
    finally:
        await bench.engine.dispose()
    return played


TUNING = tuple(stream.kind for stream in STREAMS[0::2])
"""The kinds constants may be chosen on: every other stream of `STREAMS`, from the first."""
HELD_OUT = tuple(stream.kind for stream in STREAMS[1::2])
"""The kinds the forecast is judged on: the others, never looked at while choosing."""
TAUS = (15, 30, 60, 120)
HALF_LIVES = (0.5, 1.0, 2.0, 4.0)


def errors_of(played: list[Played]) -> tuple[Errors, Errors, int, list[str]]:
    """Score both forecasters on the played streams; return their errors and the moments."""
    model, naive = Errors(), Errors()
    moments, kinds = 0, []
    for one in played:
        count = score(one, model, naive)
        if count:
            moments += count
            kinds.append(one.kind)
    return model, naive, moments, kinds


def score_all(played: list[Played]) -> str:
    """Score both forecasters on the held-out streams, the tuning streams and all of them."""
    for one in played:
        part = "held-out" if one.kind in HELD_OUT else "tuning"
        print(
            f"  {one.kind} ({part}): {score(one, Errors(), Errors())} crisis moments",
            file=sys.stderr,
            flush=True,
        )
    sections = []
    for title, kinds in (("Held-out", HELD_OUT), ("Tuning", TUNING), ("All", None)):
        chosen = [one for one in played if kinds is None or one.kind in kinds]
        sections.append(f"### {title}\n\n" + report(*errors_of(chosen)))
    return "\n\n".join(sections)


def skill(model: Errors, naive: Errors) -> float:
    """Return the forecast's reach MAE over the naive one's, averaged over the horizons."""
    return statistics.fmean(_mae(model.reach[h]) / _mae(naive.reach[h]) for h in HORIZONS)


def tune(played: list[Played]) -> str:
    """Return the errors on the tuning streams only under each damping, the best marked.

    The best is the lowest `skill` (reach error against the naive guess's); the held-out
    streams are not scored here, so choosing from this table leaves them unseen.
    """
    tuning = [one for one in played if one.kind in TUNING]
    kept = (model_module.DAMPING, model_module.DECAY_PER_HOUR)
    rows: list[tuple[float, str]] = []
    try:
        for tau_minutes in TAUS:
            for half_life in HALF_LIVES:
                model_module.DAMPING = timedelta(minutes=tau_minutes)
                model_module.DECAY_PER_HOUR = -math.log(2) / half_life
                model, naive, _, _ = errors_of(tuning)
                one_h, four_h = HORIZONS
                ratio = skill(model, naive)
                rows.append(
                    (
                        ratio,
                        f"| {tau_minutes} min | {half_life:g} h | {ratio:.2f} "
                        f"| {_relative(model.reach[one_h]):.0%} / "
                        f"{_relative(model.reach[four_h]):.0%} "
                        f"| {_share(model.tier_hits[one_h])} / {_share(model.tier_hits[four_h])} |",
                    )
                )
    finally:
        model_module.DAMPING, model_module.DECAY_PER_HOUR = kept
    best = min(rows)[1]
    lines = [
        f"Tuning streams only: {', '.join(TUNING)}",
        "",
        "| τ | decay half-life | reach MAE / naive's | reach rel. error 1 h / 4 h "
        "| tier accuracy 1 h / 4 h |",
        "|---|---|---|---|---|",
        *(row + (" ← best" if row == best else "") for _, row in rows),
    ]
    return "\n".join(lines)


def save(played: list[Played], path: Path) -> None:
    """Write what the streams left behind, so scoring can be re-run without playing."""
    path.write_text(json.dumps([asdict(one) for one in played], default=str), encoding="utf-8")


def load(paths: list[Path]) -> list[Played]:
    """Read played streams written by `save`."""
    played = []
    for path in paths:
        for raw in json.loads(path.read_text(encoding="utf-8")):
            played.append(
                Played(
                    kind=raw["kind"],
                    minutes=[(datetime.fromisoformat(a), c, r) for a, c, r in raw["minutes"]],
                    decisions=[
                        Decision(
                            datetime.fromisoformat(d["at"]),
                            Tier(d["tier"]) if d["tier"] else None,
                            d["score"],
                            d["window_count"],
                        )
                        for d in raw["decisions"]
                    ],
                    live_start=datetime.fromisoformat(raw["live_start"]),
                    scripted_end=datetime.fromisoformat(raw["scripted_end"]),
                    end=datetime.fromisoformat(raw["end"]),
                )
            )
    return played


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", help="comma-separated kinds to play (default: all)")
    parser.add_argument("--step", type=float, default=5.0, help="minutes of stream per step")
    parser.add_argument("--save", type=Path, help="also write the played streams to this file")
    parser.add_argument(
        "--load", type=Path, nargs="+", help="score streams saved earlier instead of playing"
    )
    parser.add_argument(
        "--tune", action="store_true", help="also score other dampings on the tuning streams"
    )
    args = parser.parse_args()
    if args.load:
        played = load(args.load)
        print(score_all(played))
        if args.tune:
            print("\n" + tune(played))
        return
    wanted = set(args.kinds.split(",")) if args.kinds else None
    streams = [s for s in STREAMS if wanted is None or s.kind in wanted]
    step = timedelta(minutes=args.step)
    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if database_url and redis_url:
        played = asyncio.run(play_all(database_url, redis_url, streams, step))
    else:
        with embedded_servers("cw-fcst-") as (pg, redis):
            played = asyncio.run(play_all(pg.url, redis.url, streams, step))
    if args.save:
        save(played, args.save)
    print(score_all(played))


if __name__ == "__main__":
    main()
