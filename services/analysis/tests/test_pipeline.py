"""The analysis pipeline on real PostgreSQL and Redis: rules, lexicon, stories, hits, backtest."""

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from arq.connections import ArqRedis
from arq.jobs import Job
from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import AuthorKind, SensitiveCategory, Source
from libs.contracts.messages import (
    Command,
    CommandResult,
    CreateWatchlist,
    MentionIngested,
    Message,
    SensitiveTermEntry,
    SetSensitiveTerms,
    UpdateWatchlist,
)
from libs.database.engine import transaction
from libs.database.tables import (
    MentionAnalysis,
    RiskSignal,
    SensitiveTerm,
    Story,
    StoryBand,
    Watchlist,
    WatchlistHit,
    metadata,
)
from libs.settings import Settings
from services.analysis import repository
from services.analysis.analyzer import Analyzer
from services.analysis.backtest import BacktestError, run_backtest
from services.analysis.tests.builders import make_author, make_mention, make_watchlist
from services.analysis.window import Hit, baseline_series, window_stats
from services.analysis.worker import create_worker
from tests.builders import make_tenant
from tests.fixtures.servers import Servers

REPORT = "禾岚启护3段奶粉罐里发现黑色异物，宝宝喝了以后呕吐腹泻，家长已向市场监管局投诉维权"


async def _deliver(servers: Servers, redis: ArqRedis, *messages: Message) -> None:
    for message in messages:
        await redis.enqueue_job(
            message.job_name(),
            message.model_dump(mode="json"),
            _job_id=str(message.message_id),
            _queue_name=message.QUEUE,
        )
    settings = Settings(database_url=servers.database_url, redis_url=servers.redis_url)
    worker = create_worker(settings, burst=True, handle_signals=False)
    await worker.main()
    await worker.close()


async def _answer(redis: ArqRedis, command: Command) -> CommandResult:
    job = Job(str(command.message_id), redis, _queue_name=command.QUEUE)
    job._deserializer = redis.job_deserializer
    return CommandResult.model_validate(await job.result(timeout=5))


async def test_boolean_rules_sources_and_traditional_text(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions)
    org = tenant.org.id
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        rule = make_watchlist(
            session, org, "奶粉安全", [], query="(奶粉 | 米粉) & (致癌 | 召回) & !谣言"
        )
        weibo_only = make_watchlist(session, org, "微博品牌", ["禾岚"], query="禾岚 & source:weibo")
        mentions = [
            make_mention(session, org, "某品牌奶粉被曝致癌物超标，官方宣布召回", now),
            make_mention(session, org, "網傳米粉致癌是謠言，別信", now),  # traditional, negated
            make_mention(session, org, "米粉被召回了嗎？", now),  # traditional, matches
            make_mention(session, org, "禾岚奶粉今天打折", now, source=Source.DOUYIN),
            make_mention(session, org, "禾岚奶粉今天打折", now, source=Source.WEIBO),
        ]
    await _deliver(
        servers, redis, MentionIngested(organization_id=org, mention_ids=[m.id for m in mentions])
    )
    async with sessions() as session:
        found = {a.mention_id: a for a in (await session.exec(select(MentionAnalysis))).all()}
        hits = (await session.exec(select(WatchlistHit))).all()
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
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions)
    org = tenant.org.id
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        make_watchlist(session, org, "禾岚", ["禾岚"])
        mother = make_author(session, org, "糖糖妈咪")
        media = make_author(session, org, "晨潮新闻", kind=AuthorKind.MEDIA, followers=3_200_000)
        fans = [make_author(session, org, f"网友{i}") for i in range(3)]
        await session.flush()
        original = make_mention(
            session, org, REPORT, now - timedelta(minutes=9), author=mother, external_id="p1"
        )
        report = make_mention(
            session, org, f"【关注】{REPORT}。记者已联系企业。", now - timedelta(minutes=8),
            author=media, external_id="p2",
        )  # fmt: skip
        repost = make_mention(
            session, org, "太可怕了", now - timedelta(minutes=7), author=fans[0],
            external_id="p3", repost_of="p2",
        )  # fmt: skip
        chained = make_mention(
            session, org, f"转发微博//@晨潮新闻:{REPORT}", now - timedelta(minutes=6),
            author=fans[1], external_id="p4",
        )  # fmt: skip
        unrelated = make_mention(
            session, org, "禾岚新品羊奶粉上市，门店都有试吃活动", now - timedelta(minutes=5),
            author=fans[2], external_id="p5",
        )  # fmt: skip
    first_batch = MentionIngested(organization_id=org, mention_ids=[original.id, report.id])
    second_batch = MentionIngested(
        organization_id=org, mention_ids=[repost.id, chained.id, unrelated.id]
    )
    await _deliver(servers, redis, first_batch)
    await _deliver(servers, redis, second_batch)

    async with sessions() as session:
        found = {a.mention_id: a for a in (await session.exec(select(MentionAnalysis))).all()}
        stories = (await session.exec(select(Story))).all()
        bands = (await session.exec(select(func.count()).select_from(StoryBand))).one()
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


async def test_watchlist_and_lexicon_commands(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions)
    org = tenant.org.id
    create = CreateWatchlist(
        organization_id=org, actor="k", name="奶粉", query="（奶粉｜米粉）&（致癌|召回）&！謠言"
    )
    bad = CreateWatchlist(organization_id=org, actor="k", name="坏规则", query="奶粉 & (致癌")
    only_not = CreateWatchlist(organization_id=org, actor="k", name="只有非", query="!谣言")
    nothing = CreateWatchlist(organization_id=org, actor="k", name="空")
    await _deliver(servers, redis, create, bad, only_not, nothing)
    created = await _answer(redis, create)
    assert created.ok, created.error
    assert created.data["query"] == "(奶粉 | 米粉) & (致癌 | 召回) & !谣言"
    for refused in (bad, only_not, nothing):
        answer = await _answer(redis, refused)
        assert not answer.ok and answer.error is not None
        assert (answer.error.code, answer.error.field) == ("Invalid", "query")
    assert "column" in ((await _answer(redis, bad)).error or pytest.fail()).message

    watchlist_id = uuid.UUID(created.data["id"])
    rename = UpdateWatchlist(
        organization_id=org, actor="k", watchlist_id=watchlist_id, name="奶粉安全"
    )
    requery = UpdateWatchlist(
        organization_id=org, actor="k", watchlist_id=watchlist_id, query="奶粉 & 异物"
    )
    foreign = UpdateWatchlist(
        organization_id=(await make_tenant(sessions, "globex")).org.id,
        actor="k",
        watchlist_id=watchlist_id,
        name="偷改",
    )
    await _deliver(servers, redis, rename, requery, foreign)
    assert (await _answer(redis, rename)).data["name"] == "奶粉安全"
    assert (await _answer(redis, requery)).data["query"] == "奶粉 & 异物"
    not_found = await _answer(redis, foreign)
    assert not_found.error is not None and not_found.error.code == "NotFound"

    terms = SetSensitiveTerms(
        organization_id=org,
        actor="k",
        upsert=[
            SensitiveTermEntry(term="  禾岚黑幕 ", category=SensitiveCategory.LEGAL, weight=0.7),
            SensitiveTermEntry(term="异物", category=SensitiveCategory.SAFETY, weight=0.0),
        ],
    )
    await _deliver(servers, redis, terms)
    assert (await _answer(redis, terms)).ok
    async with sessions() as session:
        stored = {t.term: t for t in (await session.exec(select(SensitiveTerm))).all()}
        watchlist = await session.get(Watchlist, watchlist_id)
    assert set(stored) == {"禾岚黑幕", "异物"} and stored["异物"].weight == 0.0
    assert watchlist is not None and watchlist.name == "奶粉安全"

    # The lexicon change takes effect on the next batch: 异物 no longer counts, 禾岚黑幕 does.
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        mention = make_mention(session, org, "奶粉里有异物，禾岚黑幕曝光", now)
    await _deliver(servers, redis, MentionIngested(organization_id=org, mention_ids=[mention.id]))
    async with sessions() as session:
        analysis = await session.get(MentionAnalysis, mention.id)
    assert analysis is not None and analysis.watchlist_ids == [watchlist_id]
    hit_terms = {h["term"] for h in analysis.sensitive_hits}
    assert "禾岚黑幕" in hit_terms and "异物" not in hit_terms

    remove = SetSensitiveTerms(organization_id=org, actor="k", remove=["异物"])
    await _deliver(servers, redis, remove)
    assert (await _answer(redis, remove)).data["removed"] == ["异物"]


async def test_sql_baseline_series_matches_the_in_memory_one(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions)
    org = tenant.org.id
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    offsets = [0, 1, 899, 900, 901, 3600, 86_399, 86_400, 86_401, 87_300, 87_301, 90_000]
    window_start = now - timedelta(minutes=15)
    posted = [window_start - timedelta(seconds=s) for s in offsets] + [now]
    async with transaction(sessions) as session:
        watchlist = make_watchlist(session, org, "w", ["x"])
        rows = [make_mention(session, org, "x", at) for at in posted]
        await session.flush()
        for mention in rows:
            session.add(
                WatchlistHit(
                    watchlist_id=watchlist.id,
                    posted_at=mention.posted_at,
                    mention_id=mention.id,
                    organization_id=org,
                    sentiment="neutral",
                )
            )
    async with sessions() as session:
        series = await repository.watchlist_series(session, watchlist.id, now)
    assert series == baseline_series(posted, now)
    # Offset 0 is the current window's start; 86 400 s and beyond fall before the baseline.
    assert sum(series) == 6


async def test_sql_window_stats_match_the_in_memory_ones(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    """The live worker aggregates in SQL, a backtest in Python: both must agree exactly."""
    tenant = await make_tenant(sessions)
    org = tenant.org.id
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    chance = random.Random(7)
    async with transaction(sessions) as session:
        watchlist = make_watchlist(session, org, "w", ["x"])
        authors = [
            make_author(session, org, name, kind=kind, followers=followers)
            for name, kind, followers in [
                ("晨潮新闻", AuthorKind.MEDIA, 3_000_000),
                ("Ａ报", AuthorKind.MEDIA, 3_000_000),
                ("大V", AuthorKind.KOL, 800_000),
                ("用户甲", AuthorKind.USER, 100),
                ("用户乙", AuthorKind.USER, 100),
            ]
        ]
        stories = [uuid.uuid4(), uuid.uuid4(), uuid.uuid4()]
        mentions = [
            make_mention(session, org, "x", now - timedelta(seconds=chance.randint(0, 1500)))
            for _ in range(120)
        ]
        await session.flush()
        hits = []
        for mention in mentions:
            author = chance.choice([*authors, None])
            hit = Hit(
                mention_id=mention.id,
                posted_at=mention.posted_at,
                sentiment=chance.choice(["negative", "negative", "neutral", "positive"]),
                author_id=author.id if author else None,
                author_handle=author.handle if author else None,
                author_kind=author.kind if author else "user",
                followers=author.followers if author else 0,
                views=chance.choice([0, 100, 100, 5_000]),
                influence=chance.choice([0.0, 30.0, 50.0]),
                sensitive_score=chance.choice([0.0, 0.0, 0.5, 0.9]),
                sensitive_terms=tuple(chance.sample(["异物", "维权", "召回", "死亡"], 2)),
                crisis_type=chance.choice([None, "product_quality", "customer_service"]),
                crisis_evidence=tuple(chance.sample(["异物", "客服", "退款", "变质"], 2)),
                story_id=chance.choice([*stories, None]),
            )
            hits.append(hit)
            session.add(
                WatchlistHit(
                    watchlist_id=watchlist.id,
                    organization_id=org,
                    source="weibo",
                    **{k: v for k, v in hit.__dict__.items()},
                )
            )
    spike_at = now - timedelta(hours=3)
    expected = window_stats(
        hits, steady := (1,) * 96, now, last_spike_at=spike_at, last_spike_count=9
    )
    async with sessions() as session:
        actual = await repository.window_stats(
            session, watchlist.id, now, steady, last_spike_at=spike_at, last_spike_count=9
        )
    assert expected.window_count > 20 and expected.top_story is not None
    assert actual == expected


async def _crisis(
    sessions: async_sessionmaker[AsyncSession], org: uuid.UUID, now: datetime
) -> tuple[Watchlist, list[uuid.UUID], list[uuid.UUID]]:
    async with transaction(sessions) as session:
        watchlist = make_watchlist(session, org, "禾岚", ["禾岚"])
        media = make_author(session, org, "晨潮新闻", kind=AuthorKind.MEDIA, followers=3_200_000)
        users = [make_author(session, org, f"用户{i}", followers=150) for i in range(40)]
        await session.flush()
        history = [
            make_mention(
                session, org, f"禾岚奶粉第{i}次回购，宝宝爱喝",
                now - timedelta(hours=6) + timedelta(minutes=9 * i), author=users[i],
            ).id
            for i in range(30)
        ]  # fmt: skip
        burst = [
            make_mention(
                session, org, f"{REPORT}（第{i}位家长）" if i else f"【曝光】{REPORT}",
                now - timedelta(seconds=90 - 2 * i), author=media if i == 0 else users[i],
                views=4_000,
            ).id
            for i in range(40)
        ]  # fmt: skip
    return watchlist, history, burst


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
) -> None:
    tenant = await make_tenant(sessions)
    org = tenant.org.id
    now = datetime.now(UTC)
    watchlist, history, burst = await _crisis(sessions, org, now)
    await _deliver(servers, redis, MentionIngested(organization_id=org, mention_ids=history))
    await _deliver(servers, redis, MentionIngested(organization_id=org, mention_ids=burst))
    async with sessions() as session:
        live = (
            await session.exec(
                select(RiskSignal)
                .where(RiskSignal.watchlist_id == watchlist.id)
                .order_by(col(RiskSignal.created_at))
            )
        ).all()
    assert live and live[-1].tier == "red"

    analyzer = Analyzer()
    analyzer.load()
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
