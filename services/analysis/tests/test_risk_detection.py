"""Detection through the real worker: harm, not attention; baselines that know their history.

Each test stores a stream of posts timed against the clock, runs the analysis worker on
real PostgreSQL and Redis, and reads what it decided: the tier stored on the watchlist,
what went to incidents, and — through the same reading the worker does
(`repository.window.read_window`, `risk.assess`) — the decision's components and reasons.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import AuthorKind, Sentiment, Tier
from libs.contracts.messages import INCIDENTS_QUEUE, MentionIngested
from libs.database.engine import transaction
from libs.database.tables import MentionAnalysis, RiskSignal, Watchlist
from services.analysis import risk
from services.analysis.repository.window import read_window
from services.analysis.tests.builders import deliver, make_author, make_mention, make_watchlist
from services.analysis.window import history_end
from tests.builders import make_tenant
from tests.fixtures.servers import Servers

PRAISE = [
    "禾岚这次联名款包装太好看了，已经下单两罐",
    "禾岚联名礼盒颜值超高，送人很有面子",
    "喜欢禾岚的联名设计，宝宝也爱喝",
    "禾岚联名款终于买到了，开心",
    "禾岚联名款质量很好，回购第三次了",
    "强烈推荐禾岚联名礼盒，性价比很高",
    "禾岚联名的小罐装很方便，出门带着正好",
    "禾岚这波联名真的很用心，点赞",
    "禾岚联名款的勺子设计很贴心，好评",
    "朋友圈都在晒禾岚联名款，真的很漂亮",
    "禾岚联名款赠品也很精致，满意",
    "禾岚联名活动很棒，客服也很耐心",
    "第一次买禾岚，被联名款吸引，味道不错",
    "禾岚联名款抢到了，物流也很快，满意",
]
GRUMBLES = [
    "禾岚联名款太难抢了，页面一直卡，失望",
    "禾岚联名款价格偏贵，有点坑",
    "禾岚联名款发货太慢，等了好久，差评",
    "禾岚联名款包装破损，客服不理人，生气",
    "禾岚联名款罐子凹了一块，体验很差",
]
CHATTER = [
    "禾岚新出的小罐装在超市看到了",
    "请问禾岚启护3段适合多大的宝宝",
    "禾岚直播间今晚几点开始",
    "朋友推荐了禾岚，准备试试",
    "禾岚官方号发了新的育儿科普",
]
MILD = ["禾岚奶粉快递有点慢", "禾岚的罐子有点难打开", "禾岚这次的勺子有点短"]
CRISIS = [
    "禾岚启护3段奶粉罐里发现黑色异物，宝宝喝了以后呕吐腹泻，已向市场监管局投诉",
    "曝光！禾岚奶粉里有异物，孩子喝完住院了",
    "禾岚奶粉变质结块，要求召回，已经投诉12315",
    "禾岚奶粉被检出致癌物质？太可怕了",
]
RUSH = [
    "9号线早上又挤又慢，受不了",
    "9号线早上挤不上去，等了三趟，烦死了",
    "9号线车厢里太挤了，透不过气",
]
RIDE = "今天坐9号线去上班"


@dataclass(frozen=True)
class Post:
    text: str
    posted_at: datetime
    media: bool = False


@dataclass(frozen=True)
class Outcome:
    """What the worker did with a stream, and the decision it would take now."""

    tier: Tier | None
    raised: int
    decision: risk.Decision
    sentiments: list[str]

    def share(self, sentiment: Sentiment) -> float:
        return self.sentiments.count(sentiment.value) / len(self.sentiments)


def spread(texts: Sequence[str], count: int, start: datetime, end: datetime) -> list[Post]:
    """Return `count` posts cycling through `texts`, evenly spaced in [start, end)."""
    step = (end - start) / count
    return [Post(f"{texts[i % len(texts)]}（{i}）", start + step * i) for i in range(count)]


async def run(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    batches: Sequence[Sequence[Post]],
    keywords: list[str],
    now: datetime | None = None,
) -> Outcome:
    """Store the posts, deliver each batch to the worker in turn, and read what it decided
    (the window itself at `now`, or at once)."""
    tenant = await make_tenant(sessions)
    org = tenant.org.id
    ids: list[list[uuid.UUID]] = []
    async with transaction(sessions) as session:
        watchlist = make_watchlist(session, org, keywords[0], keywords)
        media = make_author(session, org, "晨潮新闻", kind=AuthorKind.MEDIA, followers=3_200_000)
        users = [make_author(session, org, f"用户{i}", followers=150) for i in range(300)]
        await session.flush()
        count = 0
        for batch in batches:
            ids.append([])
            for post in batch:
                author = media if post.media else users[count % len(users)]
                mention = make_mention(session, org, post.text, post.posted_at, author=author)
                ids[-1].append(mention.id)
                count += 1
    for chunk in ids:
        for start in range(0, len(chunk), 1000):
            part = chunk[start : start + 1000]
            await deliver(servers, redis, MentionIngested(organization_id=org, mention_ids=part))
    async with sessions() as session:
        stored = await session.get(Watchlist, watchlist.id)
        assert stored is not None
        decision = risk.assess(
            await read_window(session, stored, now or datetime.now(UTC)),
            risk.parse_tier(stored.current_tier),
        )
        sentiments = list((await session.exec(select(MentionAnalysis.sentiment))).all())
    return Outcome(
        tier=risk.parse_tier(stored.current_tier),
        raised=await redis.zcard(INCIDENTS_QUEUE),
        decision=decision,
        sentiments=sentiments,
    )


def wave(now: datetime, negative: int) -> list[list[Post]]:
    """Three quiet hours, then 220 posts in 14 minutes, `negative` of them grumbles.

    The history starts a minute into the twelfth quarter-hour before `history_end(now)`,
    so read at `now` it is three hours long wherever `now` falls in its quarter-hour.
    """
    first = history_end(now) - timedelta(hours=2, minutes=59)
    history = spread(CHATTER, 24, first, now - timedelta(minutes=20))
    start = now - timedelta(minutes=14)
    praise = spread(PRAISE, 220 - negative, start, now)
    grumbles = spread(GRUMBLES, negative, start + timedelta(seconds=7), now)
    return [history, praise + grumbles]


async def test_a_viral_wave_of_praise_stays_below_yellow(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    now = datetime.now(UTC)
    outcome = await run(servers, sessions, redis, wave(now, 22), ["禾岚"], now)
    # The premise: the model reads the wave as praise with a tail of grumbles.
    assert outcome.share(Sentiment.POSITIVE) >= 0.8
    assert outcome.share(Sentiment.NEGATIVE) <= 0.15
    assert outcome.raised == 0
    assert risk.rank(outcome.tier) < risk.rank(Tier.YELLOW)
    decision = outcome.decision
    assert risk.rank(decision.tier) < risk.rank(Tier.YELLOW)
    assert decision.components["volume_ratio"] >= 10
    assert decision.components["harm_weight"] < 1
    assert not decision.spike_fired
    attention = [r for r in decision.reasons if r.startswith("声量为基线的")]
    assert len(attention) == 1 and "为正面" in attention[0], decision.reasons
    assert decision.components["baseline"]["label"] == "baseline: 3 h since first mention"
    assert "基线：首次提及以来 3 小时" in decision.reasons


async def test_the_same_wave_at_forty_percent_negative_raises(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    now = datetime.now(UTC)
    outcome = await run(servers, sessions, redis, wave(now, 88), ["禾岚"], now)
    assert 0.35 <= outcome.share(Sentiment.NEGATIVE) <= 0.5
    assert outcome.raised == 1
    assert risk.rank(outcome.tier) >= risk.rank(Tier.YELLOW)
    assert outcome.decision.components["harm_weight"] == 1.0
    assert outcome.decision.components["spike_test"]["is_spike"] is True
    assert any(r.startswith("风险声量为基线的") for r in outcome.decision.reasons)


def first_hour(now: datetime) -> list[list[Post]]:
    """A brand-new watchlist's first hour: ~10 posts every 15 minutes, a fifth grumbles."""
    quarters = []
    for quarter in range(4):
        end = now - timedelta(minutes=15 * (3 - quarter))
        start = end - timedelta(minutes=14)
        quarters.append(spread(CHATTER, 8, start, end) + spread(MILD, 2, start, end))
    return quarters


async def test_a_new_watchlist_fed_an_hour_of_chatter_opens_nothing(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    outcome = await run(servers, sessions, redis, first_hour(datetime.now(UTC)), ["禾岚"])
    assert outcome.share(Sentiment.NEGATIVE) >= 0.15
    assert outcome.raised == 0
    assert risk.rank(outcome.tier) < risk.rank(Tier.YELLOW)
    decision = outcome.decision
    assert decision.components["baseline"]["kind"] == "none"
    assert decision.components["spike_test"]["reason"] == "short_baseline"
    assert "尚无基线（首次提及以来不足 2 小时）：仅依据绝对证据" in decision.reasons


async def test_a_crisis_in_a_new_watchlists_first_hour_is_caught(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    now = datetime.now(UTC)
    calm = spread(CHATTER, 10, now - timedelta(minutes=50), now - timedelta(minutes=16))
    start = now - timedelta(minutes=8)
    crisis = [Post(f"【曝光】{CRISIS[0]}", start, media=True)]
    crisis += spread(CRISIS, 17, start + timedelta(seconds=20), now)
    crisis += spread(CHATTER, 22, start, now)
    outcome = await run(servers, sessions, redis, [calm, crisis], ["禾岚"])
    assert outcome.raised == 1
    assert outcome.tier in {Tier.ORANGE, Tier.RED}
    async with sessions() as session:
        signals = (
            await session.exec(select(RiskSignal).order_by(col(RiskSignal.created_at)))
        ).all()
    top = signals[-1]
    assert top.tier == outcome.tier
    assert top.components["baseline"]["kind"] == "none"
    assert "尚无基线（首次提及以来不足 2 小时）：仅依据绝对证据" in top.reasons
    assert "媒体账号 晨潮新闻 参与" in top.reasons
    assert top.components["negative_count"] / top.components["window_count"] >= 0.4


def week_of_mornings(now: datetime) -> list[list[Post]]:
    """Eight days of a metro line: a post every 15 minutes, and a crowded morning each day.

    Every morning from 35 minutes before this time of day to 100 minutes after it, sixteen
    posts every 15 minutes, twelve of them complaints; today's rush began 35 minutes ago.
    Delivered a day at a time, oldest first.
    """
    rushes = [
        (now - timedelta(days=day, minutes=35), min(now, now - timedelta(days=day, minutes=-100)))
        for day in range(7, -1, -1)
    ]
    quiet = [
        post
        for post in spread([RIDE], 8 * 96, now - timedelta(days=8), now)
        if not any(start <= post.posted_at < end for start, end in rushes)
    ]
    posts = quiet
    for start, end in rushes:
        quarters = (end - start) / timedelta(minutes=15)
        rush = spread(RUSH, round(12 * quarters), start, end)
        posts += rush + spread([RIDE], round(4 * quarters), start, end)
    posts.sort(key=lambda post: post.posted_at)
    return [
        [
            p
            for p in posts
            if now - timedelta(days=day + 1) <= p.posted_at < now - timedelta(days=day)
        ]
        for day in range(7, -1, -1)
    ]


async def test_a_morning_ramp_up_against_a_week_of_mornings_is_not_a_spike(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    outcome = await run(servers, sessions, redis, week_of_mornings(datetime.now(UTC)), ["9号线"])
    decision = outcome.decision
    assert decision.components["baseline"]["kind"] == "seasonal"
    assert "基线：过去 7 天同一时段，及近 24 小时" in decision.reasons
    # The last 24 hours alone would call this morning a spike; this time of day would not.
    assert decision.components["recent_spike_test"]["is_spike"] is True
    assert decision.components["seasonal_spike_test"]["is_spike"] is False
    assert decision.components["spike_test"] == decision.components["seasonal_spike_test"]
    assert decision.components["harm_count"] >= 10
    assert not decision.spike_fired
    assert outcome.raised == 0
    assert risk.rank(outcome.tier) < risk.rank(Tier.YELLOW)
