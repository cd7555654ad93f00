"""Reads of what analysis concludes: mention fields, watchlist rules, signals, the lexicon."""

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL, gid
from libs.contracts.enums import (
    CrisisType,
    IncidentStatus,
    Role,
    SensitiveCategory,
    Sentiment,
    Tier,
)
from libs.database.engine import transaction
from tests.builders import Tenant

ANALYSIS = """
query($id: ID!) { mention(id: $id) { analysis {
  sentiment sentimentScore sentimentProbability sentimentEvidence hashtags
  sensitiveScore sensitiveHits { term category weight }
  crisisType crisisConfidence crisisEvidence influence amplifier
  story { title } parentMention { databaseId }
} } }
"""

SIGNAL = """
query($id: ID!) { node(id: $id) { ... on RiskSignal {
  id databaseId tier score reasons components crisisType
  forecast { nextTier ratePerMinute etaMinutes projectedScore }
  story { databaseId title firstMention { databaseId } }
  topMentions { databaseId text }
} } }
"""

WATCHLISTS = "{ watchlists { name keywords query currentTier createdAt updatedAt lastSpikeAt } }"

SENSITIVE_TERMS = "{ sensitiveTerms { term category weight updatedAt } }"


async def test_analysis_shows_evidence_sensitive_hits_and_crisis_type(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        posted = await builders.mention(
            session, acme.org.id, posted_at=T0, text="#禾岚奶粉# 宝宝喝了住院，已向市场监管局投诉"
        )
        await builders.analysis(
            session,
            posted,
            Sentiment.NEGATIVE,
            sentiment_score=-0.92,
            sentiment_probability=0.97,
            sentiment_evidence=["住院", "投诉"],
            hashtags=["禾岚奶粉"],
            sensitive_score=0.85,
            sensitive_hits=[
                {"term": "住院", "category": "injury_death", "weight": 0.8},
                {"term": "市场监管局", "category": "regulator", "weight": 0.6},
            ],
            crisis_type=CrisisType.PRODUCT_QUALITY.value,
            crisis_confidence=0.74,
            crisis_evidence=["喝了住院"],
            influence=0.12,
        )
        plain = await builders.mention(session, acme.org.id, posted_at=T0 - timedelta(hours=1))
        await builders.analysis(session, plain, Sentiment.NEUTRAL, sentiment_score=0.0)

    body = await gql(acme.auth(Role.VIEWER), ANALYSIS, {"id": gid("Mention", posted.id)})
    assert body["data"]["mention"]["analysis"] == {
        "sentiment": "NEGATIVE",
        "sentimentScore": -0.92,
        "sentimentProbability": 0.97,
        "sentimentEvidence": ["住院", "投诉"],
        "hashtags": ["禾岚奶粉"],
        "sensitiveScore": 0.85,
        "sensitiveHits": [
            {"term": "住院", "category": "INJURY_DEATH", "weight": 0.8},
            {"term": "市场监管局", "category": "REGULATOR", "weight": 0.6},
        ],
        "crisisType": "PRODUCT_QUALITY",
        "crisisConfidence": 0.74,
        "crisisEvidence": ["喝了住院"],
        "influence": 0.12,
        "amplifier": False,
        "story": None,
        "parentMention": None,
    }
    body = await gql(acme.auth(Role.VIEWER), ANALYSIS, {"id": gid("Mention", plain.id)})
    defaults = body["data"]["mention"]["analysis"]
    assert defaults["crisisType"] is None
    assert defaults["sensitiveHits"] == [] and defaults["sensitiveScore"] == 0.0


async def test_watchlists_show_their_rule_and_last_spike(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    spiked_at = T0 - timedelta(minutes=12)
    async with transaction(sessions) as session:
        await builders.watchlist(
            session,
            acme.org.id,
            "奶粉质量",
            ["禾岚", "奶粉"],
            query="禾岚 & 奶粉 & (致癌 | 召回) & !谣言",
            current_tier=Tier.YELLOW.value,
            last_spike_at=spiked_at,
            last_spike_count=48,
            updated_at=T0,
        )
        # "none" is how a drop below blue may be stored; it reads as no tier.
        await builders.watchlist(session, acme.org.id, "物流", ["快递"], current_tier="none")

    body = await gql(acme.auth(Role.VIEWER), WATCHLISTS)
    assert "errors" not in body, body
    by_name = {w["name"]: w for w in body["data"]["watchlists"]}
    quality, logistics = by_name["奶粉质量"], by_name["物流"]
    assert quality["query"] == "禾岚 & 奶粉 & (致癌 | 召回) & !谣言"
    assert quality["currentTier"] == "YELLOW"
    assert quality["updatedAt"] == T0.isoformat()
    assert quality["lastSpikeAt"] == spiked_at.isoformat()
    assert logistics["currentTier"] is None and logistics["lastSpikeAt"] is None
    assert logistics["query"] == ""


async def test_signal_shows_crisis_type_forecast_story_and_top_mentions_in_order(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, acme.org.id)
        top = [
            await builders.mention(
                session, acme.org.id, posted_at=T0 - timedelta(minutes=i), text=f"投诉{i}"
            )
            for i in range(3)
        ]
        foreign = await builders.mention(session, rival.org.id, posted_at=T0)
        spread = await builders.story(session, top[2], "禾岚奶粉宝宝腹泻", mention_count=3)
        raised = await builders.signal(
            session,
            watched,
            Tier.ORANGE,
            crisis_type=CrisisType.PRODUCT_QUALITY.value,
            story_id=spread.id,
            forecast={
                "next_tier": "red",
                "rate_per_minute": 4.5,
                "eta_minutes": 9,
                "projected_score": 78.2,
            },
            # Ranked order, not posting order; a missing id and another tenant's are skipped.
            top_mention_ids=[top[1].id, uuid.uuid4(), top[2].id, foreign.id, top[0].id],
        )
        flat = await builders.signal(
            session,
            watched,
            Tier.RED,
            forecast={
                "next_tier": "red",
                "rate_per_minute": 0.5,
                "eta_minutes": None,
                "projected_score": 60.0,
            },
        )

    body = await gql(acme.auth(Role.VIEWER), SIGNAL, {"id": gid("RiskSignal", raised.id)})
    assert "errors" not in body, body
    found = body["data"]["node"]
    assert found["databaseId"] == str(raised.id)
    assert found["tier"] == "ORANGE" and found["score"] == 71.5
    assert found["components"] == {"spike_ratio": 6.2, "negative_share": 0.83}
    assert found["crisisType"] == "PRODUCT_QUALITY"
    assert found["forecast"] == {
        "nextTier": "RED",
        "ratePerMinute": 4.5,
        "etaMinutes": 9,
        "projectedScore": 78.2,
    }
    assert found["story"] == {
        "databaseId": str(spread.id),
        "title": "禾岚奶粉宝宝腹泻",
        "firstMention": {"databaseId": str(top[2].id)},
    }
    assert [m["databaseId"] for m in found["topMentions"]] == [
        str(top[1].id),
        str(top[2].id),
        str(top[0].id),
    ]

    body = await gql(acme.auth(Role.VIEWER), SIGNAL, {"id": gid("RiskSignal", flat.id)})
    bare = body["data"]["node"]
    assert bare["forecast"]["etaMinutes"] is None
    assert bare["crisisType"] is None and bare["story"] is None and bare["topMentions"] == []


async def test_a_drop_below_blue_reads_as_a_signal_without_a_tier(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, acme.org.id)
        dropped = await builders.signal(session, watched, "none")
        opened = await builders.incident(
            session, watched, detected_at=T0, status=IncidentStatus.RECOVERING, last_signal=dropped
        )

    by_node = await gql(acme.auth(Role.VIEWER), SIGNAL, {"id": gid("RiskSignal", dropped.id)})
    assert "errors" not in by_node, by_node
    assert by_node["data"]["node"]["tier"] is None
    assert by_node["data"]["node"]["forecast"] is None
    via_incident = await gql(
        acme.auth(Role.VIEWER),
        "query($id: ID!) { incident(id: $id) { latestSignal { tier score } } }",
        {"id": gid("Incident", opened.id)},
    )
    assert via_incident["data"] == {"incident": {"latestSignal": {"tier": None, "score": 71.5}}}


async def test_other_organizations_signals_are_invisible(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        raised = await builders.signal(session, await builders.watchlist(session, acme.org.id))
    signal_id = gid("RiskSignal", raised.id)
    outsider = await gql(rival.auth(Role.ADMIN), SIGNAL, {"id": signal_id})
    assert outsider["data"] == {"node": None}
    own = await gql(acme.auth(Role.VIEWER), SIGNAL, {"id": signal_id})
    assert own["data"]["node"]["databaseId"] == str(raised.id)


async def test_sensitive_terms_lists_only_the_callers_own_changes_by_term(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        await builders.sensitive_term(session, acme.org.id, "致癌", SensitiveCategory.SAFETY, 0.9)
        await builders.sensitive_term(session, acme.org.id, "维权", SensitiveCategory.RIGHTS, 0.0)
        await builders.sensitive_term(
            session, acme.org.id, "下架", SensitiveCategory.REGULATOR, 0.5
        )
        await builders.sensitive_term(
            session, rival.org.id, "泄露", SensitiveCategory.DATA_LEAK, 1.0
        )

    own = await gql(acme.auth(Role.VIEWER), SENSITIVE_TERMS)
    terms = own["data"]["sensitiveTerms"]
    assert [(t["term"], t["category"], t["weight"]) for t in terms] == sorted(
        [("致癌", "SAFETY", 0.9), ("维权", "RIGHTS", 0.0), ("下架", "REGULATOR", 0.5)]
    )
    assert all(t["updatedAt"] for t in terms)
    theirs = await gql(rival.auth(Role.VIEWER), SENSITIVE_TERMS)
    assert [t["term"] for t in theirs["data"]["sensitiveTerms"]] == ["泄露"]
