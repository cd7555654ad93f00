"""Backtests a console asks for: accepted at once, replayed by a worker, compared with history.

`crisiswatch backtest` replays in the operator's own process; a console cannot wait on a
replay of days of mentions, so a request is stored and answered with its id, and the
`backtest.requested` job replays it on an analysis worker, which has the analyzer loaded.
The replay is `services.analysis.backtest.run_backtest` (READ ONLY, nothing live touched);
this module adds which incidents the rule would have opened. Which recorded incidents —
false alarms above all — it would raise again is compared when the gateway reads the
backtest (`libs.contracts.backtests.compare`): incidents are not analysis's to read, and a
later false-alarm marking counts.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.backtests import (
    BacktestFindings,
    BacktestStatus,
    ReplayedTierChange,
    WouldOpen,
)
from libs.contracts.enums import Tier
from libs.contracts.messages import (
    BacktestRequested,
    CommandResult,
    ErrorCode,
    RequestBacktest,
    not_found,
)
from libs.contracts.outcome import Outcome
from libs.database.owned import owned
from libs.database.tables import Backtest, Watchlist
from libs.text import normalize
from services.analysis.analyzer import Analyzer
from services.analysis.backtest import BacktestError, ReplayedSignal, run_backtest
from services.analysis.rules import RuleError, parse

# A replay reads the range and the baseline span before it; a month keeps one request to
# minutes of a worker's time.
LONGEST_RANGE = timedelta(days=31)
# Replays share the analysis workers with live mentions: an organization waits for its
# earlier requests before asking for more.
MOST_UNFINISHED = 2
LOWEST_INCIDENT_TIER = Tier.YELLOW


async def request_backtest(
    session: AsyncSession, command: RequestBacktest, *, now: datetime
) -> Outcome:
    """Store a backtest the caller may poll, and queue its replay; refuse what cannot run."""
    watchlist = await owned(session, Watchlist, command.organization_id, command.watchlist_id)
    if watchlist is None:
        return Outcome.answer(not_found("watchlist", command.watchlist_id, "watchlistId"))
    refusal = _range_refusal(command.since, command.until, now)
    if refusal is not None:
        return Outcome.answer(refusal)
    rule = watchlist.query
    if command.query is not None:
        try:
            rule = parse(normalize(command.query)).to_query()
        except RuleError as error:
            message = f"{error.message} (at column {error.position + 1})"
            return Outcome.answer(CommandResult.failure(ErrorCode.INVALID, message, "query"))
    if await _unfinished(session, command.organization_id) >= MOST_UNFINISHED:
        message = f"{MOST_UNFINISHED} backtests are still running; ask again when one is done"
        return Outcome.answer(CommandResult.failure(ErrorCode.CONFLICT, message))
    backtest = Backtest(
        organization_id=command.organization_id,
        watchlist_id=watchlist.id,
        query=rule,
        since=command.since,
        until=command.until,
        status=BacktestStatus.QUEUED,
        requested_by=command.actor,
        requested_at=now,
    )
    session.add(backtest)
    await session.flush()
    job = BacktestRequested(organization_id=command.organization_id, backtest_id=backtest.id)
    return Outcome.answer(CommandResult.success(id=str(backtest.id)), [job])


def _range_refusal(since: datetime, until: datetime, now: datetime) -> CommandResult | None:
    if until <= since:
        return CommandResult.failure(ErrorCode.INVALID, "until must be later than since", "until")
    if since >= now:
        return CommandResult.failure(ErrorCode.INVALID, "since must be in the past", "since")
    if until - since > LONGEST_RANGE:
        days = LONGEST_RANGE.days
        return CommandResult.failure(ErrorCode.INVALID, f"replay at most {days} days", "until")
    return None


async def _unfinished(session: AsyncSession, organization_id: uuid.UUID) -> int:
    found = await session.exec(
        select(func.count())
        .select_from(Backtest)
        .where(
            Backtest.organization_id == organization_id,
            Backtest.status == BacktestStatus.QUEUED,
        )
    )
    return int(found.one())


async def run_requested(
    session: AsyncSession,
    engine: AsyncEngine,
    analyzer: Analyzer,
    message: BacktestRequested,
    *,
    now: datetime,
) -> Outcome:
    """Replay a stored request once; a second delivery of the job finds it finished."""
    backtest = await owned(
        session, Backtest, message.organization_id, message.backtest_id, lock=True
    )
    if backtest is None or backtest.status != BacktestStatus.QUEUED:
        return Outcome()
    try:
        replay = await run_backtest(
            engine,
            analyzer,
            backtest.watchlist_id,
            backtest.since,
            backtest.until,
            query=backtest.query,
        )
    except BacktestError as error:
        backtest.status = BacktestStatus.FAILED
        backtest.error = str(error)[:1000]
    else:
        backtest.status = BacktestStatus.DONE
        backtest.mentions_read = replay.mentions_read
        backtest.mentions_matched = replay.mentions_matched
        backtest.result = findings(replay.signals).model_dump(mode="json")
    backtest.finished_at = now
    session.add(backtest)
    return Outcome()


def _rank(tier: Tier | None) -> int:
    return tier.rank if tier is not None else -1


def findings(signals: Sequence[ReplayedSignal]) -> BacktestFindings:
    """Keep the replayed tier changes and the incidents they open.

    An opening starts when the tier rises from below yellow to yellow or above and lasts
    until it falls below yellow again, as incidents open on the live path.
    """
    stretches: list[tuple[datetime, Tier, datetime | None]] = []
    for signal in signals:
        rises = _rank(signal.previous) < LOWEST_INCIDENT_TIER.rank <= _rank(signal.tier)
        if rises and signal.tier is not None:
            stretches.append((signal.at, signal.tier, None))
        elif stretches and stretches[-1][2] is None:
            opened, peak, _ = stretches[-1]
            if _rank(signal.tier) < LOWEST_INCIDENT_TIER.rank:
                stretches[-1] = (opened, peak, signal.at)
            elif signal.tier is not None and signal.tier.rank > peak.rank:
                stretches[-1] = (opened, signal.tier, None)
    return BacktestFindings(
        tier_changes=[
            ReplayedTierChange(
                at=s.at,
                previous=s.previous,
                tier=s.tier,
                score=s.score,
                reasons=s.reasons,
                top_mention_ids=list(s.top_mention_ids),
            )
            for s in signals
        ],
        would_open=[
            WouldOpen(opened_at=opened, peak_tier=peak, ended_at=ended)
            for opened, peak, ended in stretches
        ],
    )
