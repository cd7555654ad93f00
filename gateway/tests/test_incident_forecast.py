"""`Incident.forecast`: tier and reach ahead, the next tier, the deadlines at risk, in Chinese."""

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.tests import builders
from gateway.tests.conftest import GraphQL, gid
from libs.contracts.enums import IncidentStatus, Role, Tier
from libs.database.engine import transaction
from libs.database.tables import MentionRollup, RiskSignal, Watchlist
from tests.builders import Tenant

FIRST = "first_statement"
FORECAST = """
query($id: ID!) { incident(id: $id) { forecast {
  trend growthPerHour nextTier secondsToNextTier secondsToPeak summary
  inOneHour { afterSeconds tier reach mentionsPerWindow }
  inFourHours { afterSeconds tier reach }
  deadlinesAtRisk { kind title secondsLeft threat }
} } }
"""


async def _talk(
    session: AsyncSession, watched: Watchlist, now: datetime, counts: list[int]
) -> None:
    """Store minute rollups: `counts` mentions in the windows up to `now`, oldest first, each
    in the middle of its window, so a query a few seconds later folds them alike; and the
    decision the score is anchored at (73 points, just under red, at the last window's
    volume)."""
    session.add(
        RiskSignal(
            organization_id=watched.organization_id,
            watchlist_id=watched.id,
            tier=Tier.ORANGE.value,
            score=73.0,
            components={"window_count": counts[-1]},
            window_start=now - timedelta(minutes=15),
            window_end=now,
            created_at=now,
        )
    )
    for back, count in enumerate(reversed(counts)):
        session.add(
            MentionRollup(
                organization_id=watched.organization_id,
                watchlist_id=watched.id,
                grain_seconds=60,
                bucket_at=now - timedelta(minutes=15 * back + 7),
                source="weibo",
                negative=count,
                reach=count * 1000,
            )
        )
    await session.flush()


async def test_a_doubling_crisis_is_forecast_to_red_before_its_statement(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant, rival: Tenant
) -> None:
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, acme.org.id)
        opened = await builders.incident(session, watched, detected_at=now - timedelta(minutes=20))
        await builders.task(session, opened, FIRST, "发布首次公开声明", 0, timedelta(hours=4))
        await _talk(session, watched, now, [10, 20, 40, 80])
        closed = await builders.incident(
            session,
            await builders.watchlist(session, acme.org.id, name="旧事"),
            detected_at=now - timedelta(days=3),
            status=IncidentStatus.CLOSED,
        )

    body = await gql(acme.auth(Role.VIEWER), FORECAST, {"id": gid("Incident", opened.id)})
    assert "errors" not in body, body
    got = body["data"]["incident"]["forecast"]
    assert (got["trend"], got["nextTier"]) == ("RISING", "RED")
    assert got["growthPerHour"] > 2.5  # doubling every window: 4·ln 2 an hour, little shrunk
    assert 0 < got["secondsToNextTier"] < got["secondsToPeak"] < 3600
    one, four = got["inOneHour"], got["inFourHours"]
    assert (one["afterSeconds"], one["tier"], four["afterSeconds"]) == (3600, "RED", 14400)
    # Reach adds up from the 80 000 gathered since detection (the window before it is older).
    assert 80_000 + 2 * 80 * 1000 < one["reach"] < four["reach"]
    # Past its peak within the hour: the wave ebbs.
    assert 0 < one["mentionsPerWindow"] < 80
    [risk] = got["deadlinesAtRisk"]
    assert (risk["kind"], risk["threat"]) == ("first_statement", "NEXT_TIER")
    assert 3 * 3600 + 39 * 60 <= risk["secondsLeft"] <= 3 * 3600 + 40 * 60
    minutes = round(got["secondsToNextTier"] / 60)
    assert re.fullmatch(rf"约{minutes}分钟后升至红色；首次声明3小时40分钟后到期", got["summary"])

    ended = await gql(acme.auth(Role.VIEWER), FORECAST, {"id": gid("Incident", closed.id)})
    assert ended["data"]["incident"] == {"forecast": None}
    other = await gql(rival.auth(Role.VIEWER), FORECAST, {"id": gid("Incident", opened.id)})
    assert other["data"]["incident"] is None


async def test_a_falling_crisis_promises_no_next_tier(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, acme.org.id)
        opened = await builders.incident(
            session, watched, detected_at=now - timedelta(hours=2), tier=Tier.ORANGE
        )
        await builders.task(session, opened, FIRST, "发布首次公开声明", 0, timedelta(hours=4))
        await _talk(session, watched, now, [160, 80, 40, 20])

    body = await gql(acme.auth(Role.VIEWER), FORECAST, {"id": gid("Incident", opened.id)})
    got = body["data"]["incident"]["forecast"]
    assert (got["trend"], got["secondsToNextTier"], got["secondsToPeak"]) == ("FALLING", None, None)
    assert got["deadlinesAtRisk"] == []
    assert got["summary"] == "热度正在回落"
    assert got["inFourHours"]["tier"] in (None, "BLUE", "YELLOW")
