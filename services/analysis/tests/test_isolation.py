"""One mention that breaks the analyser fails alone: the batch around it is analysed.

The breaking mention is real data the real analyser is given, through the real worker;
only the analyser is one that fails on that mention's text (`BreaksOn`), as a bug the
text sets off would. The isolation itself is also run on its own with a try that writes,
stages and then fails, to show a failed try leaves nothing behind.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import INCIDENTS_QUEUE, MentionIngested
from libs.database.engine import transaction
from libs.database.tables import (
    Author,
    DeadLetter,
    MentionAnalysis,
    MentionFailure,
    MessageReceipt,
)
from libs.messaging import live
from libs.messaging.worker import Runtime
from libs.settings import Settings
from services.analysis.analyzer import Analyzer, Profile, Scored
from services.analysis.isolation import isolate
from services.analysis.tests.builders import analyse, make_organization, stage_crisis, store_crisis
from services.analysis.textprep import PreparedText
from services.analysis.worker import WORKER, AnalysisRuntime
from tests.fixtures.servers import Servers

POISON = "第17位家长"


class BreaksOn(Analyzer):
    """The loaded analyzer, failing on a text that contains `marker` as a bug would."""

    def __init__(self, loaded: Analyzer, marker: str) -> None:
        super().__init__(segmenter=loaded.segmenter, model=loaded.model)
        self.marker = marker

    def score(self, prepared: PreparedText, profile: Profile) -> Scored:
        if self.marker in prepared.original:
            raise ValueError(f"segmenter cannot read {self.marker}")
        return super().score(prepared, profile)


async def _drain_with(servers: Servers, analyzer: Analyzer) -> None:
    """Run the real analysis worker (routes, harness) once over its queue with `analyzer`."""

    async def setup(base: Runtime) -> AnalysisRuntime:
        return base.extend(AnalysisRuntime, analyzer=analyzer)

    settings = Settings(database_url=servers.database_url, redis_url=servers.redis_url)
    worker = WORKER.build(settings, setup, 1, burst=True, handle_signals=False)
    await worker.main()
    await worker.close()


async def _count(session: AsyncSession, table: type) -> int:
    return int((await session.exec(select(func.count()).select_from(table))).one())


async def test_one_breaking_mention_fails_alone_and_the_crisis_around_it_is_still_seen(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    analyzer: Analyzer,
) -> None:
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        org = await make_organization(session)
    _, history, burst = await store_crisis(sessions, org, now)
    message = MentionIngested(organization_id=org, mention_ids=history + burst)
    await redis.enqueue_job(
        message.job_name(),
        message.model_dump(mode="json"),
        _job_id=str(message.message_id),
        _queue_name=message.QUEUE,
    )

    await _drain_with(servers, BreaksOn(analyzer, POISON))

    poison = burst[17]
    async with sessions() as session:
        analysed = set((await session.exec(select(MentionAnalysis.mention_id))).all())
        assert analysed == set(history + burst) - {poison}
        failure = await session.get(MentionFailure, poison)
        assert failure is not None and failure.organization_id == org
        assert failure.tries == 1 and failure.given_up_at is None
        assert failure.reason == f"ValueError: segmenter cannot read {POISON}"
        assert await _count(session, MentionFailure) == 1
        # The message was applied, not kept as a dead letter.
        assert await _count(session, DeadLetter) == 0
        receipt = await session.get(MessageReceipt, ("analysis", message.message_id))
        assert receipt is not None
    # The burst without its 17th post is still a crisis, told to incidents.
    assert await redis.zcard(INCIDENTS_QUEUE) == 1


async def test_it_fails_again_and_counts_the_try_and_a_success_clears_the_row(
    session: AsyncSession, analyzer: Analyzer
) -> None:
    now = datetime.now(UTC)
    org = await make_organization(session)
    _, history, burst = await stage_crisis(session, org, now)
    poison, healed = burst[17].id, burst[3].id
    session.add(
        MentionFailure(
            mention_id=healed,
            organization_id=org,
            tries=4,
            reason="not analysed 900 s after it was stored",
            first_failed_at=now - timedelta(hours=1),
            last_failed_at=now - timedelta(minutes=8),
        )
    )
    await analyse(session, BreaksOn(analyzer, POISON), org, [burst[17]], now)
    later = now + timedelta(minutes=2)
    outcome = await analyse(session, BreaksOn(analyzer, POISON), org, history + burst, later)

    session.expire_all()
    failure = await session.get(MentionFailure, poison)
    assert failure is not None and failure.tries == 2 and failure.last_failed_at == later
    assert failure.first_failed_at == now
    assert await session.get(MentionFailure, healed) is None
    assert len(outcome.messages) == 1


async def test_a_failed_try_leaves_no_rows_notices_or_results(
    session: AsyncSession,
) -> None:
    org = await make_organization(session)
    ids = [uuid.uuid4() for _ in range(9)]
    poison = ids[5]
    facts = live.MentionFacts(sentiment="neutral", source="weibo", posted_at=datetime.now(UTC))
    before = live.mention_notice(org, uuid.uuid4(), facts)
    live.stage(session, before)
    tries: list[list[uuid.UUID]] = []

    async def attempt(batch: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        """Write a row and stage a notice per mention, then fail if the poison is among them."""
        tries.append(list(batch))
        for mention_id in batch:
            session.add(Author(organization_id=org, source="weibo", handle=str(mention_id)))
            live.stage(session, live.mention_notice(org, mention_id, facts))
        await session.flush()
        if poison in batch:
            raise ValueError("bad mention")
        return list(batch)

    isolated = await isolate(session, ids, attempt)

    assert set(isolated.failed) == {poison}
    assert sorted(m for done in isolated.done for m in done) == sorted(set(ids) - {poison})
    handles = (
        await session.exec(select(Author.handle).where(col(Author.organization_id) == org))
    ).all()
    assert sorted(handles) == sorted(str(m) for m in set(ids) - {poison})
    notices = live.take_staged(session)
    assert notices[0] is before
    assert sorted(n.id for n in notices[1:]) == sorted(set(ids) - {poison})
    # Bisected: the whole batch first, halves of the failing part, the poison alone.
    assert tries[0] == ids and tries[1] == ids[:4] and [poison] in tries and len(tries) == 7


async def test_an_outage_is_not_split_but_fails_the_whole_message(
    session: AsyncSession,
) -> None:
    calls = 0

    async def attempt(batch: Sequence[uuid.UUID]) -> None:
        nonlocal calls
        calls += 1
        raise ConnectionResetError("connection lost")

    with pytest.raises(ConnectionResetError):
        await isolate(session, [uuid.uuid4() for _ in range(8)], attempt)
    assert calls == 1
