"""A day of one organization's rows, as the daily risk check reads them, and what it must find.

The rows are those analysis and incidents write (watchlists with tiers, risk signals,
analysed mentions in stories, incidents with tasks), some inside the 24 hours before
`now` and some in the day before, so that a check counting the wrong window, the wrong
sentiment, a closed incident or an untiered signal gets a different answer than
`expected`. The incidents tests, the gateway tests and the flow through notify share it.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import IncidentStatus, Sentiment, TaskStatus, Tier
from libs.database.tables import (
    Mention,
    MentionAnalysis,
    Organization,
    RiskSignal,
    Story,
    Watchlist,
)
from tests.builders import incident, response_task, watchlist

HOUR = timedelta(hours=1)
SPIKE_REASON = "负面声量为基线的 6.2 倍"
RIVAL_REASON = "竞品负面声量上升"


@dataclass(frozen=True)
class RiskDay:
    """The ids a check of the seeded day names, in the order it must name them."""

    watchlists: list[uuid.UUID]
    spikes: list[uuid.UUID]
    stories: list[uuid.UUID]
    incidents: list[uuid.UUID]
    overdue_task: uuid.UUID

    def expected(self) -> dict[str, Any]:
        """Return the report's findings (ids as JSON strings), as `RiskCheckCompleted` dumps."""
        return {
            "watchlists": [
                {
                    "watchlist_id": str(self.watchlists[0]),
                    "name": "奶粉",
                    "tier": "red",
                    "kind": "own_brand",
                },
                {
                    "watchlist_id": str(self.watchlists[1]),
                    "name": "竞品·澳优",
                    "tier": "orange",
                    "kind": "competitor",
                },
                {
                    "watchlist_id": str(self.watchlists[2]),
                    "name": "门店",
                    "tier": "yellow",
                    "kind": "own_brand",
                },
            ],
            "spike_names": ["奶粉", "竞品·澳优", "门店"],
            "spikes": [
                ("red", 2, [SPIKE_REASON], "own_brand"),
                ("orange", 1, [RIVAL_REASON], "competitor"),
                ("yellow", 1, ["负面占比升高"], "own_brand"),
            ],
            "negative_stories": [
                {
                    "story_id": str(self.stories[0]),
                    "title": "禾岚奶粉宝宝腹泻",
                    "negative": 4,
                    "mentions": 5,
                },
                {
                    "story_id": str(self.stories[1]),
                    "title": "门店服务差",
                    "negative": 2,
                    "mentions": 2,
                },
            ],
            "rising_terms": [
                {"term": "新品", "mentions": 3, "previous": 0},
                {"term": "腹泻", "mentions": 4, "previous": 1},
            ],
            "open_incidents": [str(id_) for id_ in self.incidents],
            "open_incident_total": 2,
            "overdue_tasks": [str(self.overdue_task)],
            "overdue_task_total": 1,
        }


async def _signal(
    session: AsyncSession, watched: Watchlist, tier: str, at: datetime, reasons: list[str]
) -> None:
    session.add(
        RiskSignal(
            organization_id=watched.organization_id,
            watchlist_id=watched.id,
            tier=tier,
            score=60.0,
            components={},
            reasons=reasons,
            window_start=at - HOUR,
            window_end=at,
            created_at=at,
        )
    )
    await session.flush()


async def _mention(
    session: AsyncSession,
    org: Organization,
    posted_at: datetime,
    sentiment: Sentiment,
    tokens: list[str],
    story: Story | None = None,
) -> Mention:
    text = "".join(tokens)
    row = Mention(
        organization_id=org.id,
        source="weibo",
        external_id=uuid.uuid4().hex,
        text=text,
        content_hash=uuid.uuid4().hex,
        posted_at=posted_at,
    )
    session.add(row)
    await session.flush()
    session.add(
        MentionAnalysis(
            mention_id=row.id,
            organization_id=org.id,
            posted_at=posted_at,
            sentiment=sentiment.value,
            sentiment_score=-0.8 if sentiment is Sentiment.NEGATIVE else 0.6,
            tokens=tokens,
            story_id=story.id if story else None,
        )
    )
    await session.flush()
    return row


async def _story(session: AsyncSession, org: Organization, title: str, at: datetime) -> Story:
    first = await _mention(session, org, at - 40 * HOUR, Sentiment.NEUTRAL, ["旧帖"])
    row = Story(
        organization_id=org.id,
        title=title,
        first_mention_id=first.id,
        started_at=at,
        last_posted_at=at,
        mention_count=1,
    )
    session.add(row)
    await session.flush()
    return row


async def seed_risk_day(session: AsyncSession, org: Organization, now: datetime) -> RiskDay:
    """Store a day of rows for `org` ending at `now`; return what a check at `now` finds."""
    milk = await watchlist(session, org, "奶粉")
    shop = await watchlist(session, org, "门店")
    logistics = await watchlist(session, org, "物流")
    old_news = await watchlist(session, org, "旧闻")
    # A competitor's crisis is in the digest too, marked as the competitor's.
    rival = await watchlist(session, org, "竞品·澳优")
    milk.current_tier, shop.current_tier, old_news.current_tier = "red", "yellow", "none"
    rival.current_tier, rival.kind = "orange", "competitor"
    session.add_all([milk, shop, old_news, rival])

    # Signals: the most severe of the day wins; an untiered one and yesterday's do not count.
    await _signal(session, milk, Tier.ORANGE.value, now - 3 * HOUR, ["负面声量上升"])
    await _signal(session, milk, Tier.RED.value, now - HOUR, [SPIKE_REASON])
    await _signal(session, milk, "none", now - HOUR / 6, ["声量回落"])
    await _signal(session, shop, Tier.YELLOW.value, now - 2 * HOUR, ["负面占比升高"])
    await _signal(session, rival, Tier.ORANGE.value, now - 4 * HOUR, [RIVAL_REASON])
    await _signal(session, logistics, Tier.YELLOW.value, now - 30 * HOUR, ["昨日预警"])

    # Mentions: stories ranked by today's negative mentions; terms against yesterday's.
    sick = await _story(session, org, "禾岚奶粉宝宝腹泻", now - 2 * HOUR)
    rude = await _story(session, org, "门店服务差", now - 5 * HOUR)
    praise = await _story(session, org, "新品好评", now - 3 * HOUR)
    for minutes in (10, 20, 30, 40):
        posted = now - timedelta(minutes=minutes)
        await _mention(session, org, posted, Sentiment.NEGATIVE, ["奶粉", "腹泻"], sick)
    await _mention(session, org, now - 2 * HOUR, Sentiment.POSITIVE, ["奶粉"], sick)
    await _mention(session, org, now - 30 * HOUR, Sentiment.NEGATIVE, ["奶粉", "腹泻"], sick)
    for _ in range(4):
        await _mention(session, org, now - 30 * HOUR, Sentiment.POSITIVE, ["奶粉"])
    for _ in range(2):
        await _mention(session, org, now - 5 * HOUR, Sentiment.NEGATIVE, ["门店", "排队"], rude)
    for _ in range(3):
        await _mention(session, org, now - 3 * HOUR, Sentiment.POSITIVE, ["新品"], praise)

    # Incidents: two open (red first), one resolved whose late task does not count.
    burning = await incident(
        session,
        org,
        milk,
        tier=Tier.RED,
        status=IncidentStatus.RESPONDING,
        detected_at=now - 20 * HOUR,
    )
    watching = await incident(session, org, shop, detected_at=now - 2 * HOUR)
    done = await incident(
        session,
        org,
        logistics,
        tier=Tier.ORANGE,
        status=IncidentStatus.RESOLVED,
        detected_at=now - 50 * HOUR,
    )
    late = await response_task(
        session, burning, "statement", now - 2 * HOUR, title="发布首次公开声明"
    )
    await response_task(session, burning, "media", now + 2 * HOUR, title="准备媒体问答")
    await response_task(
        session,
        burning,
        "verify",
        now - 5 * HOUR,
        status=TaskStatus.DONE.value,
        completed_at=now - 6 * HOUR,
    )
    await response_task(session, done, "apology", now - 3 * HOUR, title="致歉")
    return RiskDay(
        watchlists=[milk.id, rival.id, shop.id],
        spikes=[milk.id, rival.id, shop.id],
        stories=[sick.id, rude.id],
        incidents=[burning.id, watching.id],
        overdue_task=late.id,
    )


def findings(report: dict[str, Any]) -> dict[str, Any]:
    """Return a stored report's findings in the form of `RiskDay.expected`."""
    return {
        "watchlists": report["watchlists"],
        "spike_names": [spike["name"] for spike in report["spikes"]],
        "spikes": [(s["tier"], s["signals"], s["reasons"], s["kind"]) for s in report["spikes"]],
        "negative_stories": report["negative_stories"],
        "rising_terms": report["rising_terms"],
        "open_incidents": [item["incident_id"] for item in report["open_incidents"]],
        "open_incident_total": report["open_incident_total"],
        "overdue_tasks": [item["task_id"] for item in report["overdue_tasks"]],
        "overdue_task_total": report["overdue_task_total"],
    }
