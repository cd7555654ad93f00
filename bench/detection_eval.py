"""Detection on scripted streams, through the real analysis and incidents workers.

Each stream of `detection_streams.py` (a real crisis, a slow burn, one heavyweight media
exposé, a positive viral wave, a brand-new watchlist, a week with a day/night rhythm, a
rumour, a data leak, traditional characters, a calm day with mild complaints, a crisis in a
new watchlist's first hour) gets its own organization and watchlist. Its history arrives as
one backfill; its live part is stored window by window (`--step` minutes of posts at a
time), and after each step the real burst workers run with a clock set to the stream's
time, so a week of stream takes seconds. It prints, per kind, the highest tier reached and
when, the incident it opened (tier, crisis type, minutes after the event started), and
whether that is what the kind should do; then the sentiment table (`sentiment_eval.py`) and
the NAB spike table (`spike_eval.py`) unless `--only-streams`.

    .venv/bin/python bench/detection_eval.py [--kinds rumour,viral_praise] [--only-streams]
"""

import argparse
import asyncio
import os
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from detection_streams import STREAMS, Script, Stream, script
from harness import embedded_servers
from sqlmodel import col, select

from libs.auth.admin import ensure_organization
from libs.clock import FixedClock
from libs.contracts.enums import Tier
from libs.contracts.messages import CreateWatchlist, MentionIngested, Message
from libs.database.engine import create_engine, session_factory, transaction
from libs.database.tables import Incident, RiskSignal, Watchlist
from libs.messaging.connection import connect
from libs.messaging.publisher import publish
from libs.privacy import generate_key
from libs.settings import Settings
from services.analysis.worker import create_worker as analysis_worker
from services.incidents.worker import create_worker as incidents_worker
from services.ingest.schemas import MentionIn
from services.ingest.service import store_batch

RANK = {None: 0, Tier.BLUE: 1, Tier.YELLOW: 2, Tier.ORANGE: 3, Tier.RED: 4}
CHUNK = 1000


@dataclass
class Result:
    """What one stream did to its watchlist and incidents."""

    stream: Stream
    top_tier: Tier | None
    top_tier_minutes: float | None
    incident_tier: str | None
    incident_type: str | None
    incident_minutes: float | None
    signal_type: str | None
    posts: int
    seconds: float
    reasons: list[str]

    @property
    def as_expected(self) -> bool:
        """A crisis opens an incident of the expected type; a non-crisis opens none."""
        if not self.stream.expect_incident:
            return self.incident_tier is None
        return self.incident_tier is not None and (
            self.stream.expect_type is None or self.incident_type == self.stream.expect_type
        )


class Bench:
    """The servers, the shared clock and the settings every worker of the run uses."""

    def __init__(self, database_url: str, redis_url: str) -> None:
        self.settings = Settings(
            database_url=database_url, redis_url=redis_url, data_key=generate_key()
        )
        self.engine = create_engine(database_url, pool_size=2)
        self.sessions = session_factory(self.engine)
        self.clock = FixedClock(datetime.now(UTC))

    async def drain(self, *messages: Message) -> None:
        """Queue `messages`, then run analysis and incidents in burst mode at the clock's time."""
        redis = await connect(self.settings.redis_url)
        try:
            for message in messages:
                await publish(redis, message)
        finally:
            await redis.aclose()
        for create in (analysis_worker, incidents_worker):
            worker = create(self.settings, burst=True, handle_signals=False, clock=self.clock)
            await worker.main()
            await worker.close()

    async def store(self, org: uuid.UUID, posts: list[dict[str, object]]) -> list[Message]:
        """Store posts as ingest would; return the announcements for analysis."""
        announcements: list[Message] = []
        for start in range(0, len(posts), CHUNK):
            chunk = posts[start : start + CHUNK]
            async with transaction(self.sessions) as session:
                stored = await store_batch(
                    session, org, {i: MentionIn.model_validate(p) for i, p in enumerate(chunk)}
                )
            if stored.new_ids:
                announcements.append(
                    MentionIngested(organization_id=org, mention_ids=stored.new_ids)
                )
        return announcements

    async def play(self, stream: Stream, live_start: datetime, step: timedelta) -> Result:
        """Backfill the stream's history, play its live part step by step, read the outcome."""
        began = time.perf_counter()
        laid: Script = script(stream, live_start)
        async with transaction(self.sessions) as session:
            org = (await ensure_organization(session, f"detect-{stream.kind}")).id
        self.clock.current = live_start
        await self.drain(
            CreateWatchlist(
                organization_id=org,
                actor="detection-eval",
                name=stream.brand,
                keywords=list(stream.keywords),
            )
        )
        await self.drain(*await self.store(org, laid.history))
        at, index = live_start, 0
        while at < laid.end:
            at += step
            batch = []
            while index < len(laid.live) and str(laid.live[index]["posted_at"]) <= at.isoformat():
                batch.append(laid.live[index])
                index += 1
            self.clock.current = at
            await self.drain(*await self.store(org, batch))
        return await self.outcome(stream, org, laid, time.perf_counter() - began)

    async def outcome(self, stream: Stream, org: uuid.UUID, laid: Script, seconds: float) -> Result:
        """Read the signals and incidents the stream left behind."""
        async with self.sessions() as session:
            watchlist = (
                await session.exec(select(Watchlist).where(col(Watchlist.organization_id) == org))
            ).one()
            signals = (
                await session.exec(
                    select(RiskSignal)
                    .where(col(RiskSignal.watchlist_id) == watchlist.id)
                    .order_by(col(RiskSignal.created_at))
                )
            ).all()
            incident = (
                await session.exec(
                    select(Incident)
                    .where(col(Incident.organization_id) == org)
                    .order_by(col(Incident.detected_at))
                )
            ).first()
        top: Tier | None = None
        top_at: datetime | None = None
        signal_type = None
        reasons: list[str] = []
        for signal in signals:
            tier = None if signal.tier == "none" else Tier(signal.tier)
            if RANK[tier] > RANK[top]:
                top, top_at, signal_type = tier, signal.created_at, signal.crisis_type
                reasons = list(signal.reasons)

        def minutes(moment: datetime | None) -> float | None:
            return None if moment is None else (moment - laid.event_start).total_seconds() / 60

        return Result(
            stream=stream,
            top_tier=top,
            top_tier_minutes=minutes(top_at),
            incident_tier=incident.tier if incident else None,
            incident_type=incident.crisis_type if incident else None,
            incident_minutes=minutes(incident.detected_at if incident else None),
            signal_type=signal_type,
            posts=len(laid.history) + len(laid.live),
            seconds=seconds,
            reasons=reasons,
        )


def _minutes(value: float | None) -> str:
    return "—" if value is None else f"{value:+.0f} min"


def table(results: list[Result]) -> str:
    """The per-kind table: expectation, highest tier, incident, type, verdict."""
    lines = [
        "| kind | expected | highest tier (when) | incident (when) | crisis type | as expected |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        expected = (
            f"incident ({r.stream.expect_type or 'any type'})"
            if r.stream.expect_incident
            else "no incident"
        )
        tier = f"{r.top_tier.value if r.top_tier else 'none'} ({_minutes(r.top_tier_minutes)})"
        incident = (
            f"{r.incident_tier} ({_minutes(r.incident_minutes)})" if r.incident_tier else "none"
        )
        crisis_type = r.incident_type or r.signal_type or "—"
        lines.append(
            f"| {r.stream.kind} | {expected} | {tier} | {incident} | {crisis_type} | "
            f"{'yes' if r.as_expected else 'NO'} |"
        )
    met = sum(r.as_expected for r in results)
    lines.append(f"\n{met} of {len(results)} kinds as expected; times are from the event's start.")
    return "\n".join(lines)


async def run_streams(
    database_url: str, redis_url: str, streams: list[Stream], step: timedelta
) -> list[Result]:
    """Play every stream on one pair of servers; each in its own organization."""
    bench = Bench(database_url, redis_url)
    # Stream time ends well before the wall clock: ingest refuses posts dated in the future.
    live_start = (datetime.now(UTC) - timedelta(days=2)).replace(second=0, microsecond=0)
    results = []
    try:
        for stream in streams:
            result = await bench.play(stream, live_start, step)
            print(
                f"  {stream.kind}: {result.posts} posts in {result.seconds:.1f} s",
                file=sys.stderr,
                flush=True,
            )
            results.append(result)
    finally:
        await bench.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", help="comma-separated kinds to play (default: all)")
    parser.add_argument("--step", type=float, default=5.0, help="minutes of stream per step")
    parser.add_argument("--only-streams", action="store_true", help="skip sentiment and NAB")
    parser.add_argument(
        "--reasons", action="store_true", help="print the reasons of each kind's highest signal"
    )
    args = parser.parse_args()
    wanted = set(args.kinds.split(",")) if args.kinds else None
    streams = [s for s in STREAMS if wanted is None or s.kind in wanted]
    step = timedelta(minutes=args.step)
    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if database_url and redis_url:
        results = asyncio.run(run_streams(database_url, redis_url, streams, step))
    else:
        with embedded_servers("cw-detect-") as (pg, redis):
            results = asyncio.run(run_streams(pg.url, redis.url, streams, step))
    print("## Scripted streams\n")
    print(table(results))
    if args.reasons:
        for result in results:
            print(f"\n{result.stream.kind}: " + "; ".join(result.reasons))
    if args.only_streams:
        return
    bench_dir = Path(__file__).resolve().parent
    for script_name in ("sentiment_eval.py", "spike_eval.py"):
        print(f"\n## {script_name}\n", flush=True)
        os.spawnv(os.P_WAIT, sys.executable, [sys.executable, str(bench_dir / script_name)])


if __name__ == "__main__":
    main()
