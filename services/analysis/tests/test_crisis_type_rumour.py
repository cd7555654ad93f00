"""Rumour talk is MISINFORMATION, even when the rumour names a safety or quality claim.

The pure tests classify posts the way the worker matches them; the worker tests push
rumour, complaint and mixed streams through the real analysis worker on PostgreSQL and
Redis and read the window's crisis type from the risk signal it stores and sends to
incidents (which picks the playbook by that type).
"""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import AuthorKind, CrisisType
from libs.contracts.messages import MentionIngested
from libs.database.engine import transaction
from libs.database.tables import MentionAnalysis, RiskSignal
from services.analysis.crisis_type import (
    MIN_SCORE,
    RUMOUR_FRAMING,
    CrisisCue,
    CrisisTypeClassifier,
    aggregate,
)
from services.analysis.tests.builders import deliver, make_author, make_mention, make_watchlist
from services.analysis.tests.test_crisis_type import CLASSIFIER, classify, cue_weight, hits_of
from services.analysis.tests.test_worker import _queued_on_incidents
from tests.builders import make_tenant
from tests.fixtures.servers import Servers

# Rumour talk about a brand: hearsay, questions about truth, debunks; most name a safety claim.
RUMOURS = [
    "网传{b}奶粉致癌，检测报告都出来了，大家还敢给孩子喝吗？",
    "听说{b}工厂用的是地沟油，真的假的？",
    "{b}奶粉致癌是真的吗？求知情人说说",
    "据说{b}被查出三聚氰胺超标，不知道是不是真的",
    "是谣言吧，{b}官方已经辟谣了",
    "网传{b}奶粉吃出虫子的图是P图，造谣的人该抓",
]
# Complaints about the same kind of trouble, told as experience, without any framing.
COMPLAINTS = [
    "{b}奶粉罐里有黑色异物，宝宝喝完上吐下泻",
    "{b}奶粉发霉变质了，要求召回！",
    "曝光！{b}奶粉喝出异物，孩子住院了",
    "{b}这批奶粉有异味，已经向市场监管局投诉",
]
RUMOUR = CrisisType.MISINFORMATION
QUALITY = CrisisType.PRODUCT_QUALITY


@pytest.mark.parametrize(
    ("post", "first", "claim"),
    [
        ("网传禾岚奶粉致癌，大家还敢喝吗", "网传", {"致癌", "sensitive:safety"}),
        ("听说禾岚用的是地沟油？", "听说", {"sensitive:safety"}),
        ("禾岚奶粉致癌是真的吗？", "是真的吗", {"致癌", "sensitive:safety"}),
        ("據說禾嵐被查出三聚氰胺超標", "据说", {"超标", "sensitive:safety"}),
        ("听说禾岚数据泄露了，是真的吗", "听说", {"数据泄露", "sensitive:data_leak"}),
    ],
)
def test_rumour_framing_makes_a_claim_misinformation(
    post: str, first: str, claim: set[str]
) -> None:
    result = classify(post)
    assert result.crisis_type is RUMOUR
    # The framing comes first in the evidence, the claim's cues and categories after it.
    assert result.evidence[0] == first
    assert claim <= set(result.evidence)
    labels = [label for label in result.evidence if not label.startswith("sensitive:")]
    framing = [label for label in labels if label in RUMOUR_FRAMING]
    assert labels[: len(framing)] == framing
    # Every cue counts for misinformation: no other kind keeps a score to compete with.
    assert set(result.scores) == {RUMOUR}
    assert result.confidence == pytest.approx(result.scores[RUMOUR])


def test_the_same_claim_without_framing_stays_product_quality() -> None:
    told = classify("禾岚奶粉致癌，大家别喝了")
    heard = classify("网传禾岚奶粉致癌，大家别喝了")
    assert told.crisis_type is QUALITY
    assert "致癌" in told.evidence
    assert heard.crisis_type is RUMOUR
    # Folding the claim into misinformation makes the rumour at least as sure as the claim.
    assert heard.scores[RUMOUR] >= told.scores[QUALITY]


@pytest.mark.parametrize("template", COMPLAINTS)
def test_quality_complaints_stay_product_quality(template: str) -> None:
    result = classify(template.format(b="禾岚"))
    assert result.crisis_type is QUALITY
    assert not set(result.evidence) & RUMOUR_FRAMING


def test_debunks_alone_are_misinformation() -> None:
    result = classify("是谣言吧，禾岚官方已经辟谣了")
    assert result.crisis_type is RUMOUR
    assert result.evidence == ("谣言", "辟谣")


@pytest.mark.parametrize("post", ["你们听说过禾岚吗", "这么便宜是真的吗", "据说周末有活动"])
def test_hearsay_without_a_claim_is_no_crisis(post: str) -> None:
    result = classify(post)
    assert result.crisis_type is None
    assert result.scores[RUMOUR] < MIN_SCORE


def test_two_hearsay_cues_are_rumour_talk_without_a_claim() -> None:
    result = classify("真的假的，据说禾岚要涨价了")
    assert result.crisis_type is RUMOUR
    assert set(result.evidence) == {"真的假的", "据说"}
    expected = 1.0 - (1.0 - cue_weight("真的假的", RUMOUR)) * (1.0 - cue_weight("据说", RUMOUR))
    assert result.scores[RUMOUR] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("post", "kind", "inner"),
    [
        ("根据说明书冲泡，罐里却有异物，宝宝喝完拉肚子", QUALITY, "据说"),
        ("App数据传输有漏洞，用户数据被盗", CrisisType.DATA_LEAK, "据传"),
        ("这个产品华而不实，质量差", QUALITY, "不实"),
        ("不实用，做工差，质量差", QUALITY, "不实"),
    ],
)
def test_a_word_holding_a_framing_cue_frames_nothing(
    post: str, kind: CrisisType, inner: str
) -> None:
    assert inner in hits_of(post)
    result = classify(post)
    assert result.crisis_type is kind
    assert inner not in result.evidence


def test_misinformation_claims_that_are_not_framing_compete_by_score() -> None:
    # 虚假宣传 is a complaint about the brand's own claims, not hearsay about it.
    assert "虚假宣传" not in RUMOUR_FRAMING
    result = classify("这款奶粉虚假宣传，罐里有异物，宝宝喝了上吐下泻")
    assert result.crisis_type is QUALITY


def test_framing_terms_must_be_misinformation_cues() -> None:
    cues = [CrisisCue("听说", RUMOUR, 0.3), CrisisCue("异物", QUALITY, 0.8)]
    assert CrisisTypeClassifier(cues, framing=["听说"]).framing() == frozenset({"听说"})
    with pytest.raises(ValueError, match="异物"):
        CrisisTypeClassifier(cues, framing=["异物"])
    assert CLASSIFIER.framing() == RUMOUR_FRAMING


def test_a_cue_of_two_kinds_counts_once_in_rumour_talk() -> None:
    classifier = CrisisTypeClassifier(
        [
            CrisisCue("听说", RUMOUR, 0.3),
            CrisisCue("甲", QUALITY, 0.6),
            CrisisCue("甲", CrisisType.DATA_LEAK, 0.5),
        ],
        framing=["听说"],
    )
    result = classifier.classify({"听说", "甲"})
    assert result.crisis_type is RUMOUR
    assert result.evidence == ("听说", "甲")
    assert result.scores[RUMOUR] == pytest.approx(1.0 - 0.7 * 0.4)


def _posts(templates: list[str], count: int, brand: str) -> list[str]:
    return [templates[i % len(templates)].format(b=brand) for i in range(count)]


@pytest.mark.parametrize(
    ("rumours", "complaints", "kind"),
    [(60, 0, RUMOUR), (0, 60, QUALITY), (36, 24, RUMOUR), (24, 36, QUALITY)],
)
def test_aggregate_follows_the_larger_part(rumours: int, complaints: int, kind: CrisisType) -> None:
    posts = _posts(RUMOURS, rumours, "禾岚") + _posts(COMPLAINTS, complaints, "禾岚")
    window = aggregate(classify(post) for post in posts)
    assert window.crisis_type is kind


# One watchlist per stream, each with its own brand, all in one organization and one run.
STREAMS = {
    "禾岚": (60, 0, RUMOUR),
    "澄川": (0, 60, QUALITY),
    "青穗": (36, 24, RUMOUR),
    "云栖": (24, 36, QUALITY),
}


async def _store_streams(
    sessions: async_sessionmaker[AsyncSession], org: uuid.UUID, now: datetime
) -> tuple[dict[str, uuid.UUID], list[uuid.UUID], list[uuid.UUID]]:
    """Per brand: 40 ordinary posts over six hours, then 60 posts of its stream in a minute."""
    history: list[uuid.UUID] = []
    burst: list[uuid.UUID] = []
    watchlists: dict[str, uuid.UUID] = {}
    async with transaction(sessions) as session:
        for brand, (rumours, complaints, _) in STREAMS.items():
            watchlist = make_watchlist(session, org, brand, [brand])
            media = make_author(
                session, org, f"{brand}新闻", kind=AuthorKind.MEDIA, followers=3_000_000
            )
            users = [make_author(session, org, f"{brand}用户{i}") for i in range(60)]
            await session.flush()
            watchlists[brand] = watchlist.id
            for i in range(40):
                posted = now - timedelta(hours=6) + timedelta(minutes=8 * i)
                text = f"{brand}奶粉第{i}次回购，宝宝爱喝"
                history.append(make_mention(session, org, text, posted, author=users[i]).id)
            # Interleaved, so each part is spread over the whole minute.
            stream = _posts(RUMOURS, rumours, brand) + _posts(COMPLAINTS, complaints, brand)
            stream = stream[0::2] + stream[1::2]
            for i, text in enumerate(stream):
                mention = make_mention(
                    session,
                    org,
                    f"{text} #{i}",
                    now - timedelta(seconds=60 - i),
                    author=media if i == 0 else users[i],
                    views=5_000,
                )
                burst.append(mention.id)
    return watchlists, history, burst


async def test_rumour_streams_are_misinformation_through_the_worker(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions)
    now = datetime.now(UTC)
    watchlists, history, burst = await _store_streams(sessions, tenant.org.id, now)
    org = tenant.org.id
    await deliver(servers, redis, MentionIngested(organization_id=org, mention_ids=history))
    await deliver(servers, redis, MentionIngested(organization_id=org, mention_ids=burst))

    async with sessions() as session:
        analyses = (await session.exec(select(MentionAnalysis))).all()
        signals = (
            await session.exec(select(RiskSignal).order_by(col(RiskSignal.created_at)))
        ).all()
    assert len(analyses) == len(history) + len(burst)
    assert sum(a.crisis_type == RUMOUR.value for a in analyses) == 60 + 36 + 24
    raised = {message.watchlist_id: message for message in await _queued_on_incidents(redis)}
    for brand, (rumours, complaints, kind) in STREAMS.items():
        top = [s for s in signals if s.watchlist_id == watchlists[brand]][-1]
        evidence = top.components["crisis_evidence"]
        assert top.crisis_type == kind.value, brand
        assert top.components["dominant_crisis_type"] == kind.value
        assert top.components["crisis_mentions"] == (rumours if kind is RUMOUR else complaints)
        if kind is RUMOUR:
            # 网传 opens two of the six rumour templates.
            assert f"网传×{2 * rumours // len(RUMOURS)}" in evidence
            # Evidence counts the misinformation mentions only: no complaint's 异物.
            assert not any(label.startswith("异物×") for label in evidence)
            assert any("不实信息" in line for line in top.reasons)
        else:
            assert any(label.startswith("异物×") for label in evidence)
            assert not any(label.split("×")[0] in RUMOUR_FRAMING for label in evidence)
        # Incidents hear the type with the signal, which is what picks the playbook.
        assert raised[watchlists[brand]].crisis_type is kind
