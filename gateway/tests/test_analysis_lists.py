"""Risk signals, watchlists and stories listed with filters and `orderBy`."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL, gid
from gateway.tests.connections import check_filters, error, ordered, page, walk
from libs.contracts.enums import (
    CrisisType,
    Role,
)
from libs.database.engine import transaction
from libs.database.tables import (
    RiskSignal,
    Watchlist,
)
from tests.builders import Sessions, Tenant

# --- signals ------------------------------------------------------------------------------


async def test_signals_filter_by_watchlist_tier_score_and_time_and_sort_by_score_or_tier(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    tiers = ["blue", "red", "none", "orange", "yellow", "red", "none", "orange"]
    scores = [22.0, 91.5, 5.0, 71.5, 45.0, 91.5, 8.0, 60.0]
    async with transaction(sessions) as session:
        milk = await builders.watchlist(session, acme.org.id, "奶粉质量")
        logistics = await builders.watchlist(session, acme.org.id, "物流延误")
        made: list[RiskSignal] = []
        for i, (tier, score) in enumerate(zip(tiers, scores, strict=True)):
            row = RiskSignal(
                organization_id=acme.org.id,
                watchlist_id=(milk if i % 2 else logistics).id,
                tier=tier,
                score=score,
                components={},
                crisis_type=CrisisType.DATA_LEAK.value if i == 3 else None,
                window_start=T0,
                window_end=T0,
                created_at=T0 + timedelta(minutes=10 * (i // 2)),  # pairs share an instant
            )
            session.add(row)
            made.append(row)
        other = await builders.watchlist(session, rival.org.id, "奶粉质量")
        session.add(
            RiskSignal(
                organization_id=rival.org.id,
                watchlist_id=other.id,
                tier="red",
                score=99.0,
                components={},
                window_start=T0,
                window_end=T0,
            )
        )
    rank = {"none": 0, "blue": 1, "yellow": 2, "orange": 3, "red": 4}

    assert await walk(gql, acme, "signals", first=3) == ordered(
        made, lambda s: s.created_at, descending=True
    )
    assert await walk(gql, acme, "signals", order_by={"field": "SCORE"}) == ordered(
        made, lambda s: s.score, descending=True
    )
    assert await walk(
        gql, acme, "signals", first=3, order_by={"field": "TIER", "direction": "ASC"}
    ) == ordered(made, lambda s: rank[s.tier], descending=False)

    def only(test: Callable[[RiskSignal], bool]) -> list[str]:
        return ordered([s for s in made if test(s)], lambda s: s.created_at, descending=True)

    checks: list[tuple[dict[str, Any], Callable[[RiskSignal], bool]]] = [
        ({"watchlistId": gid("Watchlist", milk.id)}, lambda s: s.watchlist_id == milk.id),
        ({"tier": "RED"}, lambda s: s.tier == "red"),
        ({"minTier": "ORANGE"}, lambda s: rank[s.tier] >= 3),
        ({"belowBlue": True}, lambda s: s.tier == "none"),
        ({"belowBlue": False}, lambda s: s.tier != "none"),
        ({"minScore": 60}, lambda s: s.score >= 60),
        ({"crisisType": "DATA_LEAK"}, lambda s: s.crisis_type == "data_leak"),
        (
            {
                "since": (T0 + timedelta(minutes=10)).isoformat(),
                "until": (T0 + timedelta(minutes=30)).isoformat(),
            },
            lambda s: T0 + timedelta(minutes=10) <= s.created_at < T0 + timedelta(minutes=30),
        ),
        (
            {"watchlistId": gid("Watchlist", logistics.id), "minTier": "BLUE"},
            lambda s: s.watchlist_id == logistics.id and rank[s.tier] >= 1,
        ),
    ]
    await check_filters(gql, acme, "signals", checks, only)

    wrong = await page(gql, acme, "signals", filter={"watchlistId": gid("Incident", milk.id)})
    assert error(wrong) == "`filter.watchlistId` must be a Watchlist id."


async def test_watchlists_list_and_connection_filter_and_sort_by_tier(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    names = ["物流延误", "Beta", "奶粉质量", "alpha", "客服态度"]
    tiers: list[str | None] = [None, "red", "orange", "red", "blue"]
    async with transaction(sessions) as session:
        made: list[Watchlist] = []
        for i, (name, tier) in enumerate(zip(names, tiers, strict=True)):
            row = await builders.watchlist(
                session,
                acme.org.id,
                name,
                current_tier=tier,
                last_spike_at=T0 + timedelta(hours=i) if i % 2 else None,
            )
            row.created_at = T0 + timedelta(minutes=i)
            made.append(row)
        await builders.watchlist(session, rival.org.id, "奶粉质量", current_tier="red")
    rank = {None: 0, "blue": 1, "yellow": 2, "orange": 3, "red": 4}

    by_name = ordered(made, lambda w: w.name, descending=False)
    assert await walk(gql, acme, "watchlistsConnection") == by_name
    by_tier = ordered(made, lambda w: rank[w.current_tier], descending=True)
    tier_order = {"field": "TIER", "direction": "DESC"}
    assert await walk(gql, acme, "watchlistsConnection", order_by=tier_order) == by_tier
    query = """query($filter: WatchlistFilter, $orderBy: WatchlistOrder) {
      watchlists(filter: $filter, orderBy: $orderBy) { databaseId } }"""
    listed = await gql(acme.auth(Role.VIEWER), query, {"orderBy": tier_order})
    assert [w["databaseId"] for w in listed["data"]["watchlists"]] == by_tier
    hot = await gql(acme.auth(Role.VIEWER), query, {"filter": {"minTier": "ORANGE"}})
    assert {w["databaseId"] for w in hot["data"]["watchlists"]} == {
        str(w.id) for w in made if rank[w.current_tier] >= 3
    }

    checks: list[tuple[dict[str, Any], Callable[[Watchlist], bool]]] = [
        ({"tier": "RED"}, lambda w: w.current_tier == "red"),
        ({"nameContains": "ALPHA"}, lambda w: w.name == "alpha"),
        ({"nameContains": "质量"}, lambda w: w.name == "奶粉质量"),
        (
            {"spikedSince": (T0 + timedelta(hours=2)).isoformat()},
            lambda w: w.last_spike_at is not None and w.last_spike_at >= T0 + timedelta(hours=2),
        ),
    ]
    await check_filters(
        gql,
        acme,
        "watchlistsConnection",
        checks,
        lambda test: ordered([w for w in made if test(w)], lambda w: w.name, descending=False),
    )
    by_created = {"field": "CREATED_AT", "direction": "DESC"}
    assert await walk(gql, acme, "watchlistsConnection", order_by=by_created) == [
        str(w.id) for w in reversed(made)
    ]


async def test_stories_filter_by_size_and_activity_and_sort_by_mention_count(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, acme.org.id)
        made = []
        for i, count in enumerate([3, 12, 3, 40, 1]):
            first = await builders.mention(session, acme.org.id, posted_at=T0 + timedelta(hours=i))
            made.append(
                await builders.story(
                    session,
                    first,
                    f"故事{i}",
                    mention_count=count,
                    last_posted_at=T0 + timedelta(hours=10 - i),
                )
            )
            if i in (1, 2):
                await builders.watchlist_hit(session, watched, first, made[-1])
        rival_first = await builders.mention(session, rival.org.id, posted_at=T0)
        await builders.story(session, rival_first, mention_count=100)

    assert await walk(gql, acme, "stories", order_by={"field": "MENTION_COUNT"}) == ordered(
        made, lambda s: s.mention_count, descending=True
    )
    assert await walk(
        gql, acme, "stories", order_by={"field": "STARTED_AT", "direction": "ASC"}
    ) == [str(s.id) for s in made]
    big = await walk(gql, acme, "stories", filter={"minMentions": 3})
    assert big == ordered(
        [s for s in made if s.mention_count >= 3], lambda s: s.last_posted_at, descending=True
    )
    window = {
        "activeSince": (T0 + timedelta(hours=7)).isoformat(),
        "activeUntil": (T0 + timedelta(hours=10)).isoformat(),
    }
    assert await walk(gql, acme, "stories", filter=window) == [str(s.id) for s in made[1:4]]
    watched_only = await walk(
        gql, acme, "stories", filter={"watchlistId": gid("Watchlist", watched.id), "minMentions": 5}
    )
    assert watched_only == [str(made[1].id)]
