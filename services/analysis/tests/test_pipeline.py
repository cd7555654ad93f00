"""The analysis pipeline: its stages over one batch on one rolled-back session, and a
backtest replaying what the live worker decided."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from arq.connections import ArqRedis
from sqlalchemy import delete, func, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import AuthorKind, Sentiment, Source
from libs.contracts.messages import MentionIngested, RiskSignalRaised
from libs.database.tables import (
    MentionAnalysis,
    RiskSignal,
    Story,
    StoryBand,
    StoryBandRecent,
    WatchlistHit,
    metadata,
)
from libs.story_bands import is_lasting
from services.analysis.analyzer import Analyzer
from services.analysis.backtest import BacktestError, run_backtest
from services.analysis.pipeline import STAGES
from services.analysis.tests.builders import (
    CRISIS_REPORT,
    analyse,
    deliver,
    make_author,
    make_mention,
    make_organization,
    make_watchlist,
    stage_crisis,
    store_crisis,
)
from tests.builders import make_tenant
from tests.fixtures.servers import Servers

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REPORT = CRISIS_REPORT


async def _analyses(session: AsyncSession, org: uuid.UUID) -> dict[uuid.UUID, MentionAnalysis]:
    result = await session.exec(
        select(MentionAnalysis).where(MentionAnalysis.organization_id == org)
    )
    return {a.mention_id: a for a in result.all()}


def test_stages_run_in_the_documented_order() -> None:
    assert [stage.__name__ for stage in STAGES] == [
        "prepare",
        "match_rules",
        "score_sentiment",
        "place_in_stories",
        "score_influence",
        "store_hits",
        "read_windows",
        "decide",
        "count_in_stories",
        "count_in_rollups",
    ]


async def test_boolean_rules_sources_and_traditional_text(
    session: AsyncSession, analyzer: Analyzer
) -> None:
    org = await make_organization(session)
    rule = make_watchlist(
        session, org, "奶粉安全", [], query="(奶粉 | 米粉) & (致癌 | 召回) & !谣言"
    )
    weibo_only = make_watchlist(session, org, "微博品牌", ["禾岚"], query="禾岚 & source:weibo")
    mentions = [
        make_mention(session, org, "某品牌奶粉被曝致癌物超标，官方宣布召回", NOW),
        make_mention(session, org, "網傳米粉致癌是謠言，別信", NOW),  # traditional, negated
        make_mention(session, org, "米粉被召回了嗎？", NOW),  # traditional, matches
        make_mention(session, org, "禾岚奶粉今天打折", NOW, source=Source.DOUYIN),
        make_mention(session, org, "禾岚奶粉今天打折", NOW, source=Source.WEIBO),
    ]
    await analyse(session, analyzer, org, mentions, NOW)

    found = await _analyses(session, org)
    hits = (
        await session.exec(select(WatchlistHit).where(WatchlistHit.organization_id == org))
    ).all()
    assert found[mentions[0].id].watchlist_ids == [rule.id]
    assert set(found[mentions[0].id].matched_keywords) == {"奶粉", "致癌", "召回"}
    assert found[mentions[1].id].watchlist_ids == []
    assert found[mentions[2].id].watchlist_ids == [rule.id]
    assert found[mentions[3].id].watchlist_ids == []
    assert found[mentions[4].id].watchlist_ids == [weibo_only.id]
    assert {(h.watchlist_id, h.mention_id) for h in hits} == {
        (rule.id, mentions[0].id),
        (rule.id, mentions[2].id),
        (weibo_only.id, mentions[4].id),
    }
    # Sensitive terms and crisis type are stored with their evidence.
    first = found[mentions[0].id]
    assert first.sensitive_score > 0
    assert "致癌物" in {h["term"] for h in first.sensitive_hits}
    assert first.crisis_type == "product_quality" and first.crisis_evidence


async def test_reposts_and_near_duplicates_form_one_story_with_its_tree(
    session: AsyncSession, analyzer: Analyzer
) -> None:
    org = await make_organization(session)
    make_watchlist(session, org, "禾岚", ["禾岚"])
    mother = make_author(session, org, "糖糖妈咪")
    media = make_author(session, org, "晨潮新闻", kind=AuthorKind.MEDIA, followers=3_200_000)
    fans = [make_author(session, org, f"网友{i}") for i in range(3)]
    await session.flush()
    original = make_mention(
        session, org, REPORT, NOW - timedelta(minutes=9), author=mother, external_id="p1"
    )
    report = make_mention(
        session, org, f"【关注】{REPORT}。记者已联系企业。", NOW - timedelta(minutes=8),
        author=media, external_id="p2",
    )  # fmt: skip
    repost = make_mention(
        session, org, "太可怕了", NOW - timedelta(minutes=7), author=fans[0],
        external_id="p3", repost_of="p2",
    )  # fmt: skip
    chained = make_mention(
        session, org, f"转发微博//@晨潮新闻:{REPORT}", NOW - timedelta(minutes=6),
        author=fans[1], external_id="p4",
    )  # fmt: skip
    unrelated = make_mention(
        session, org, "禾岚新品羊奶粉上市，门店都有试吃活动", NOW - timedelta(minutes=5),
        author=fans[2], external_id="p5",
    )  # fmt: skip
    await analyse(session, analyzer, org, [original, report], NOW)
    await analyse(session, analyzer, org, [repost, chained, unrelated], NOW)

    found = await _analyses(session, org)
    stories = (await session.exec(select(Story).where(Story.organization_id == org))).all()
    bands = (
        await session.exec(
            select(func.count()).select_from(StoryBand).where(StoryBand.organization_id == org)
        )
    ).one()
    story_id = found[original.id].story_id
    assert story_id is not None
    assert {found[m.id].story_id for m in (report, repost, chained)} == {story_id}
    assert found[unrelated.id].story_id not in {None, story_id}
    story = next(s for s in stories if s.id == story_id)
    assert story.first_mention_id == original.id and story.first_author_id == mother.id
    assert story.mention_count == 4
    assert found[repost.id].parent_mention_id == report.id  # the platform's repost id
    assert found[chained.id].parent_mention_id == report.id  # the //@ chain's handle
    assert found[report.id].amplifier and not found[original.id].amplifier
    assert found[report.id].influence > found[original.id].influence
    assert bands > 0


async def _band_rows(
    session: AsyncSession, table: type[StoryBand | StoryBandRecent], story_id: uuid.UUID
) -> list[int]:
    result = await session.exec(select(table.band_key).where(col(table.story_id) == story_id))
    return list(result.all())


@pytest.mark.parametrize("released", ["recent", "lasting", "both"])
async def test_a_copy_finds_a_story_through_either_tier_and_a_revived_story_is_whole(
    session: AsyncSession, analyzer: Analyzer, released: str
) -> None:
    org = await make_organization(session)
    make_watchlist(session, org, "禾岚", ["禾岚"])
    original = make_mention(session, org, REPORT, NOW - timedelta(days=3), external_id="q1")
    await analyse(session, analyzer, org, [original], NOW - timedelta(days=3))
    story_id = (await _analyses(session, org))[original.id].story_id
    assert story_id is not None
    lasting = await _band_rows(session, StoryBand, story_id)
    recent = await _band_rows(session, StoryBandRecent, story_id)
    # Each key in the tier its value names; together the story's 40 keys.
    assert lasting and all(is_lasting(k) for k in lasting)
    assert recent and not any(is_lasting(k) for k in recent)
    assert len(lasting) + len(recent) == 40

    # The retention pass released the story's recent keys (after a day of quiet) or all of
    # them (after a month); "lasting" shows the lookup reads the recent tier too.
    gone: dict[str, list[type[StoryBand | StoryBandRecent]]] = {
        "recent": [StoryBandRecent],
        "lasting": [StoryBand],
        "both": [StoryBandRecent, StoryBand],
    }
    for table in gone[released]:
        await session.exec(delete(table).where(col(table.story_id) == story_id))
    copy = make_mention(session, org, REPORT, NOW, external_id="q2")
    await analyse(session, analyzer, org, [copy], NOW)

    joined = (await _analyses(session, org))[copy.id].story_id
    if released == "both":
        assert joined not in {None, story_id}
        return
    assert joined == story_id
    # Posted to again, a story found through its long-kept keys alone takes its recent
    # keys back from its signature.
    assert sorted(await _band_rows(session, StoryBandRecent, story_id)) == sorted(recent)


async def test_mentions_of_no_watchlist_are_analysed_without_a_signal(
    session: AsyncSession, analyzer: Analyzer
) -> None:
    org = await make_organization(session)
    make_watchlist(session, org, "飞鹤品牌", ["飞鹤"])
    bread = make_mention(session, org, "这家店的面包很好吃，推荐", NOW)
    question = make_mention(session, org, "飞鹤的门店在哪里？", NOW)
    outcome = await analyse(session, analyzer, org, [bread, question], NOW)

    found = await _analyses(session, org)
    assert found[bread.id].watchlist_ids == []
    assert found[bread.id].sentiment == Sentiment.POSITIVE
    assert found[question.id].sentiment == Sentiment.NEUTRAL
    assert found[question.id].matched_keywords == ["飞鹤"]
    signals = await session.exec(select(RiskSignal).where(RiskSignal.organization_id == org))
    assert signals.all() == []
    assert outcome.messages == () and outcome.result is None


async def test_a_batch_analysed_again_stores_and_emits_nothing_new(
    session: AsyncSession, analyzer: Analyzer
) -> None:
    org = await make_organization(session)
    watchlist, history, burst = await stage_crisis(session, org, NOW)
    await analyse(session, analyzer, org, history, NOW)
    first = await analyse(session, analyzer, org, burst, NOW)
    signals = select(func.count()).select_from(RiskSignal).where(RiskSignal.organization_id == org)
    before = (len(await _analyses(session, org)), (await session.exec(signals)).one())

    again = await analyse(session, analyzer, org, [*history, *burst], NOW)

    raised = [m for m in first.messages if isinstance(m, RiskSignalRaised)]
    assert len(raised) == len(first.messages) == 1 and raised[0].watchlist_id == watchlist.id
    assert again.messages == ()
    assert (len(await _analyses(session, org)), (await session.exec(signals)).one()) == before
    assert before == (70, 1)


async def _row_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            name: int((await conn.execute(text(f'SELECT count(*) FROM "{name}"'))).scalar_one())
            for name in metadata.tables
        }


async def test_backtest_replays_what_the_live_worker_decided_without_writing(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    engine: AsyncEngine,
    analyzer: Analyzer,
) -> None:
    tenant = await make_tenant(sessions)
    org = tenant.org.id
    now = datetime.now(UTC)
    watchlist, history, burst = await store_crisis(sessions, org, now)
    await deliver(servers, redis, MentionIngested(organization_id=org, mention_ids=history))
    await deliver(servers, redis, MentionIngested(organization_id=org, mention_ids=burst))
    async with sessions() as session:
        live = (
            await session.exec(
                select(RiskSignal)
                .where(RiskSignal.watchlist_id == watchlist.id)
                .order_by(col(RiskSignal.created_at))
            )
        ).all()
    assert live and live[-1].tier == "red"

    before = await _row_counts(engine)
    result = await run_backtest(
        engine, analyzer, watchlist.id, now - timedelta(hours=7), now + timedelta(minutes=1)
    )
    assert await _row_counts(engine) == before
    assert result.mentions_read == 70 and result.mentions_matched == 70
    assert result.signals, "the replay raised nothing"
    assert result.signals[-1].tier is not None and result.signals[-1].tier.value == "red"
    assert result.signals[-1].components["media_authors"] == ["晨潮新闻"]

    # A draft rule that the burst does not satisfy raises nothing, and the stored rule stays.
    quiet = await run_backtest(
        engine, analyzer, watchlist.id, now - timedelta(hours=7), now, query="禾岚 & 召回"
    )
    assert quiet.signals == [] and quiet.query == "禾岚 & 召回"
    with pytest.raises(BacktestError, match="column"):
        await run_backtest(engine, analyzer, watchlist.id, now - timedelta(hours=1), now, query="(")
    with pytest.raises(BacktestError, match="no watchlist"):
        await run_backtest(engine, analyzer, uuid.uuid4(), now - timedelta(hours=1), now)
