"""Connections with filters and `orderBy`: narrowing, keyset order, foreign cursors, tenancy.

Every expectation is computed here from the rows the test stored: the order by sorting them
on (key, id), the filters by testing each row.
"""

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.tests import response_rows as rr
from gateway.tests import rows
from gateway.tests.conftest import GraphQL, gid
from gateway.tests.rows import T0
from libs.contracts.enums import (
    AuthorKind,
    Channel,
    CrisisType,
    EventType,
    IncidentStatus,
    Role,
    Sentiment,
    Source,
    StatementStatus,
    TeamRole,
    Tier,
)
from libs.database.engine import transaction
from libs.database.tables import (
    Incident,
    Mention,
    ReplyCase,
    ResponseTask,
    ReviewReport,
    RiskSignal,
    Statement,
    Watchlist,
)
from libs.reply_library import signature
from tests.builders import Tenant

Sessions = async_sessionmaker[AsyncSession]

# The input types of each connection's `filter` and `orderBy`.
INPUTS = {
    "mentions": ("MentionFilter", "MentionOrder"),
    "signals": ("SignalFilter", "SignalOrder"),
    "tasks": ("TaskFilter", "TaskOrder"),
    "statements": ("StatementFilter", "StatementOrder"),
    "reviewReports": ("ReviewReportFilter", "ReviewReportOrder"),
    "watchlistsConnection": ("WatchlistFilter", "WatchlistOrder"),
    "incidents": ("IncidentFilter", "IncidentOrder"),
    "stories": ("StoryFilter", "StoryOrder"),
    "authors": ("AuthorFilter", "AuthorOrder"),
    "webhookDeliveries": ("WebhookDeliveryFilter", "WebhookDeliveryOrder"),
}


def document(field: str) -> str:
    """Return a query for one page of `field` with every paging argument as a variable."""
    filter_type, order_type = INPUTS[field]
    return f"""
    query($first: Int, $after: String, $filter: {filter_type}, $orderBy: {order_type}) {{
      {field}(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {{
        pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
        edges {{ cursor node {{ databaseId }} }}
      }}
    }}
    """


async def page(
    gql: GraphQL,
    tenant: Tenant,
    field: str,
    *,
    first: int | None = None,
    after: str | None = None,
    filter: dict[str, Any] | None = None,
    order_by: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the whole response for one page of `field`."""
    variables = {"first": first, "after": after, "filter": filter, "orderBy": order_by}
    return await gql(tenant.auth(Role.VIEWER), document(field), variables)


async def walk(
    gql: GraphQL,
    tenant: Tenant,
    field: str,
    *,
    first: int = 2,
    filter: dict[str, Any] | None = None,
    order_by: dict[str, Any] | None = None,
) -> list[str]:
    """Follow `field` page by page to its end; return the database ids in order."""
    seen: list[str] = []
    after: str | None = None
    while True:
        body = await page(
            gql, tenant, field, first=first, after=after, filter=filter, order_by=order_by
        )
        assert "errors" not in body, body
        connection = body["data"][field]
        edges = connection["edges"]
        assert len(edges) <= first
        assert connection["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [edge["node"]["databaseId"] for edge in edges]
        if not connection["pageInfo"]["hasNextPage"]:
            assert len(seen) == len(set(seen)), "a row came twice"
            return seen
        after = connection["pageInfo"]["endCursor"]
        assert after == edges[-1]["cursor"]


def ordered(
    items: Sequence[Any], key: Callable[[Any], Any], *, descending: bool, id_of: str = "id"
) -> list[str]:
    """Return the ids of `items` sorted on (key, id), as keyset pagination must list them."""
    ranked = sorted(items, key=lambda item: (key(item), getattr(item, id_of)), reverse=descending)
    return [str(getattr(item, id_of)) for item in ranked]


def error(body: dict[str, Any]) -> str:
    assert body.get("data") is None, body
    return str(body["errors"][0]["message"])


# --- mentions -----------------------------------------------------------------------------


async def seed_mentions(sessions: Sessions, acme: Tenant, rival: Tenant) -> dict[str, Any]:
    """Store acme mentions with ties in every key, some unanalysed, and a loud rival one."""
    async with transaction(sessions) as session:
        watched = await rows.watchlist(session, acme.org.id)
        media = await rows.author(session, acme.org.id, "财经媒体", kind=AuthorKind.MEDIA.value)
        first = await rows.mention(session, acme.org.id, posted_at=T0 - timedelta(days=1))
        spread = await rows.story(session, first)
        stored: list[Mention] = []
        influence: dict[uuid.UUID, float] = {}
        facts: dict[uuid.UUID, dict[str, Any]] = {}
        for i in range(9):
            row = await rows.mention(
                session,
                acme.org.id,
                posted_at=T0 - timedelta(hours=i % 4),  # four instants: ties
                text=f"第{i}条：奶粉 100% 有问题" if i % 3 == 0 else f"第{i}条：物流太慢",
                author_id=media.id if i % 2 else None,
                views=(i % 3) * 1000,
                likes=i % 4,
                reposts=2 if i == 5 else 0,
                source=Source.WEIBO if i < 5 else Source.DOUYIN,
            )
            stored.append(row)
            if i == 8:  # still waiting for analysis
                facts[row.id] = {"analyzed": False}
                continue
            score = [0.2, 0.9, 0.2, 0.5, 0.0, 0.9, 0.7, 0.2][i]
            await rows.analysis(
                session,
                row,
                Sentiment.NEGATIVE if i % 2 else Sentiment.NEUTRAL,
                [watched] if i < 4 else [],
                influence=score,
                amplifier=score >= 0.9,
                crisis_type=CrisisType.PRODUCT_QUALITY.value if i in (1, 2) else None,
                story_id=spread.id if i in (3, 4, 6) else None,
            )
            influence[row.id] = score
            facts[row.id] = {"analyzed": True}
        loud = await rows.mention(session, rival.org.id, posted_at=T0, views=10**9, likes=10**6)
        await rows.analysis(session, loud, Sentiment.NEGATIVE, influence=1.0)
    return {
        "mentions": [first, *stored],
        "influence": influence,
        "facts": facts,
        "watchlist": watched,
        "story": spread,
        "author": media,
        "loud": loud,
    }


async def test_mentions_page_through_every_order_each_row_once(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    seeded = await seed_mentions(sessions, acme, rival)
    mentions: list[Mention] = seeded["mentions"]
    influence: dict[uuid.UUID, float] = seeded["influence"]
    keys: dict[str, Callable[[Mention], Any]] = {
        "POSTED_AT": lambda m: m.posted_at,
        "INGESTED_AT": lambda m: m.ingested_at,
        "INFLUENCE": lambda m: influence.get(m.id, 0.0),
        "ENGAGEMENT": lambda m: m.reposts + m.comments + m.likes,
        "VIEWS": lambda m: m.views,
    }
    for name, key in keys.items():
        for direction in ("ASC", "DESC"):
            listed = await walk(
                gql, acme, "mentions", first=3, order_by={"field": name, "direction": direction}
            )
            expected = ordered(mentions, key, descending=direction == "DESC")
            assert listed == expected, (name, direction)
    assert str(seeded["loud"].id) not in listed
    # Without `orderBy` the list stays newest posted first, as it always was.
    assert await walk(gql, acme, "mentions", first=4) == ordered(
        mentions, keys["POSTED_AT"], descending=True
    )


async def test_mention_filters_each_narrow_to_the_rows_that_qualify(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    seeded = await seed_mentions(sessions, acme, rival)
    first, *mentions = seeded["mentions"]
    influence: dict[uuid.UUID, float] = seeded["influence"]
    # The story's first post is labelled "first", the others by their index.
    labels: dict[str, int | str] = {str(m.id): i for i, m in enumerate(mentions)}
    labels[str(first.id)] = "first"
    order = {"field": "VIEWS", "direction": "DESC"}

    async def indexes(filter: dict[str, Any]) -> set[int | str]:
        listed = await walk(gql, acme, "mentions", first=2, filter=filter, order_by=order)
        return {labels[id_] for id_ in listed}

    assert await indexes({"storyId": gid("Story", seeded["story"].id)}) == {3, 4, 6}
    assert await indexes({"authorDatabaseId": str(seeded["author"].id)}) == {1, 3, 5, 7}
    assert await indexes({"crisisType": "PRODUCT_QUALITY"}) == {1, 2}
    assert await indexes({"minInfluence": 0.7}) == {1, 5, 6}
    assert await indexes({"amplifier": True}) == {1, 5}
    assert await indexes({"analyzed": False}) == {8, "first"}
    assert await indexes({"analyzed": True}) == set(range(8))
    assert await indexes({"textContains": "100%"}) == {0, 3, 6}
    assert await indexes({"textContains": "奶粉 1%有"}) == set(), "% is taken literally"
    assert await indexes({"minInfluence": 0.5, "source": "DOUYIN"}) == {5, 6}
    assert await indexes(
        {"watchlistId": gid("Watchlist", seeded["watchlist"].id), "sentiment": "NEGATIVE"}
    ) == {1, 3}
    assert all(influence[mentions[i].id] >= 0.7 for i in (1, 5, 6))

    wrong = await page(gql, acme, "mentions", filter={"storyId": gid("Mention", uuid.uuid4())})
    assert error(wrong) == "`filter.storyId` must be a Story id."


async def test_a_cursor_only_continues_the_order_and_list_it_came_from(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    await seed_mentions(sessions, acme, rival)
    newest = await page(gql, acme, "mentions", first=2)
    cursor = newest["data"]["mentions"]["pageInfo"]["endCursor"]

    by_influence = await page(
        gql, acme, "mentions", first=2, after=cursor, order_by={"field": "INFLUENCE"}
    )
    message = error(by_influence)
    assert "`after`" in message and "POSTED_AT DESC" in message and "INFLUENCE DESC" in message
    ascending = await page(
        gql, acme, "mentions", after=cursor, order_by={"field": "POSTED_AT", "direction": "ASC"}
    )
    assert "not POSTED_AT ASC" in error(ascending)
    elsewhere = await page(gql, acme, "signals", after=cursor)
    assert error(elsewhere) == "`after` is not a cursor of this signal list."
    assert "not a cursor" in error(await page(gql, acme, "tasks", after="garbage"))
    # The same cursor still continues its own order.
    assert "errors" not in await page(gql, acme, "mentions", first=2, after=cursor)


# --- signals ------------------------------------------------------------------------------


async def test_signals_filter_by_watchlist_tier_score_and_time_and_sort_by_score_or_tier(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    tiers = ["blue", "red", "none", "orange", "yellow", "red", "none", "orange"]
    scores = [22.0, 91.5, 5.0, 71.5, 45.0, 91.5, 8.0, 60.0]
    async with transaction(sessions) as session:
        milk = await rows.watchlist(session, acme.org.id, "奶粉质量")
        logistics = await rows.watchlist(session, acme.org.id, "物流延误")
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
        other = await rows.watchlist(session, rival.org.id, "奶粉质量")
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
    for filter, test in checks:
        expected = only(test)
        assert expected, filter
        assert await walk(gql, acme, "signals", filter=filter) == expected, filter

    wrong = await page(gql, acme, "signals", filter={"watchlistId": gid("Incident", milk.id)})
    assert error(wrong) == "`filter.watchlistId` must be a Watchlist id."


# --- tasks --------------------------------------------------------------------------------


async def test_tasks_across_incidents_make_a_my_overdue_tasks_view(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        milk = await rows.watchlist(session, acme.org.id, "奶粉质量")
        shipping = await rows.watchlist(session, acme.org.id, "物流延误")
        live = await rows.incident(session, milk, detected_at=T0)
        ended = await rows.incident(
            session, shipping, detected_at=T0 - timedelta(days=1), status=IncidentStatus.RESOLVED
        )
        await rr.member(session, live, TeamRole.SPOKESPERSON, "李娜")
        await rr.member(session, live, TeamRole.MONITOR, "王强")
        await rr.member(session, ended, TeamRole.SPOKESPERSON, "李娜")
        hours = timedelta(hours=1)
        speaker = TeamRole.SPOKESPERSON
        plan = [
            # incident, kind, role, due, status, breached, completed
            (live, "acknowledge", TeamRole.MONITOR, T0 + hours / 2, "done", None, T0),
            (live, "scope", TeamRole.ANALYST, T0 + 2 * hours, "open", None, None),
            (live, "statement", speaker, T0 + 4 * hours, "overdue", T0 + 4 * hours, None),
            (live, "detail", speaker, now + 48 * hours, "open", None, None),
            (live, "plan", TeamRole.COMMANDER, now + 24 * hours, "open", None, None),
            (ended, "statement", speaker, T0 - 20 * hours, "open", None, None),
            (ended, "acknowledge", TeamRole.MONITOR, T0 - 23 * hours, "done", T0, T0),
        ]
        made: list[ResponseTask] = []
        for position, (opened, kind, role, due, status, breached, completed) in enumerate(plan):
            row = ResponseTask(
                organization_id=acme.org.id,
                incident_id=opened.id,
                kind=kind,
                title=f"任务 {kind}",
                position=position,
                due_at=due,
                status=status,
                role=role.value,
                channel=Channel.WEIBO.value if kind == "statement" else None,
                breached_at=breached,
                completed_at=completed,
                created_at=T0 + timedelta(minutes=position % 3),
            )
            session.add(row)
            made.append(row)
        foreign = await rows.incident(
            session, await rows.watchlist(session, rival.org.id), detected_at=T0
        )
        await rows.task(session, foreign, "statement", "他们的任务", 0, timedelta(hours=1))

    def due_first(test: Callable[[ResponseTask], bool]) -> list[str]:
        return ordered([t for t in made if test(t)], lambda t: t.due_at, descending=False)

    def overdue(t: ResponseTask) -> bool:
        return t.status != "done" and (t.breached_at is not None or t.due_at < now)

    assert await walk(gql, acme, "tasks") == due_first(lambda t: True)
    assert await walk(
        gql, acme, "tasks", first=3, order_by={"field": "CREATED_AT", "direction": "DESC"}
    ) == ordered(made, lambda t: t.created_at, descending=True)
    mine = await walk(
        gql, acme, "tasks", filter={"overdue": True, "person": "李娜", "incidentOpen": True}
    )
    assert mine == [str(made[2].id)]
    checks: list[tuple[dict[str, Any], Callable[[ResponseTask], bool]]] = [
        ({"overdue": True}, overdue),
        ({"overdue": False}, lambda t: not overdue(t)),
        ({"person": "李娜"}, lambda t: t.role == "spokesperson"),
        ({"person": "王强"}, lambda t: t.incident_id == live.id and t.role == "monitor"),
        ({"role": "COMMANDER"}, lambda t: t.role == "commander"),
        ({"incidentId": gid("Incident", ended.id)}, lambda t: t.incident_id == ended.id),
        ({"incidentOpen": False}, lambda t: t.incident_id == ended.id),
        ({"status": "OPEN"}, lambda t: t.status == "open"),
        ({"channel": "WEIBO", "overdue": True}, lambda t: t.channel == "weibo" and overdue(t)),
        ({"kind": "acknowledge"}, lambda t: t.kind == "acknowledge"),
        ({"dueBefore": T0.isoformat()}, lambda t: t.due_at < T0),
        (
            {"dueAfter": T0.isoformat(), "dueBefore": now.isoformat()},
            lambda t: T0 <= t.due_at < now,
        ),
    ]
    for filter, test in checks:
        expected = due_first(test)
        assert expected, filter
        assert await walk(gql, acme, "tasks", filter=filter) == expected, filter
    wrong = await page(gql, acme, "tasks", filter={"incidentId": gid("Watchlist", milk.id)})
    assert error(wrong) == "`filter.incidentId` must be an Incident id."


# --- statements and review reports ----------------------------------------------------------


async def test_statements_and_review_reports_filter_and_sort_across_incidents(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await rows.watchlist(session, acme.org.id, "奶粉质量")
        first = await rows.incident(
            session, watched, detected_at=T0, status=IncidentStatus.RESOLVED
        )
        second = await rows.incident(
            session, await rows.watchlist(session, acme.org.id, "物流"), detected_at=T0
        )
        said: list[Statement] = []
        plan = [
            (first, Channel.WEIBO, StatementStatus.PUBLISHED, []),
            (first, Channel.WECHAT, StatementStatus.IN_REVIEW, [{"kind": "missing_fact"}]),
            (second, Channel.WEIBO, StatementStatus.DRAFT, [{"kind": "conflict"}]),
            (second, Channel.DOUYIN, StatementStatus.DRAFT, []),
            (second, Channel.WEBSITE, StatementStatus.APPROVED, []),
        ]
        for i, (opened, channel, status, flags) in enumerate(plan):
            said.append(
                await rr.statement(
                    session,
                    opened,
                    channel,
                    status=status,
                    flags=flags,
                    created_at=T0 + timedelta(minutes=i // 2),
                    updated_at=T0 + timedelta(hours=5 - i),
                )
            )
        reports: list[ReviewReport] = []
        for i, opened in enumerate((first, second)):
            report = await rr.review(session, opened)
            report.created_at = T0 + timedelta(days=i)
            report.updated_at = T0 + timedelta(days=5 - i)
            if i == 0:
                report.status, report.completed_at = "completed", T0 + timedelta(days=2)
            reports.append(report)
        other = await rows.incident(
            session, await rows.watchlist(session, rival.org.id), detected_at=T0
        )
        await rr.statement(session, other)
        await rr.review(session, other)

    def newest(test: Callable[[Statement], bool]) -> list[str]:
        return ordered([s for s in said if test(s)], lambda s: s.created_at, descending=True)

    assert await walk(gql, acme, "statements") == newest(lambda s: True)
    assert await walk(gql, acme, "statements", order_by={"field": "UPDATED_AT"}) == ordered(
        said, lambda s: s.updated_at, descending=True
    )
    checks: list[tuple[dict[str, Any], Callable[[Statement], bool]]] = [
        ({"channel": "WEIBO"}, lambda s: s.channel == "weibo"),
        ({"status": "DRAFT"}, lambda s: s.status == "draft"),
        ({"incidentId": gid("Incident", first.id)}, lambda s: s.incident_id == first.id),
        ({"flagged": True}, lambda s: bool(s.flags)),
        ({"flagged": False, "channel": "WEIBO"}, lambda s: not s.flags and s.channel == "weibo"),
    ]
    for filter, test in checks:
        expected = newest(test)
        assert expected, filter
        assert await walk(gql, acme, "statements", filter=filter) == expected, filter

    done, draft = (str(r.id) for r in reports)
    assert await walk(gql, acme, "reviewReports", first=1) == [draft, done]
    assert await walk(gql, acme, "reviewReports", order_by={"field": "UPDATED_AT"}) == [
        done,
        draft,
    ]
    assert await walk(gql, acme, "reviewReports", filter={"status": "completed"}) == [done]
    assert await walk(gql, acme, "reviewReports", filter={"completed": False}) == [draft]
    assert await walk(
        gql, acme, "reviewReports", filter={"incidentId": gid("Incident", second.id)}
    ) == [draft]
    refused = await page(gql, acme, "reviewReports", filter={"status": "finished"})
    assert error(refused).startswith("`filter.status` must be one of draft, completed")


# --- watchlists, incidents, stories ---------------------------------------------------------


async def test_watchlists_list_and_connection_filter_and_sort_by_tier(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    names = ["物流延误", "Beta", "奶粉质量", "alpha", "客服态度"]
    tiers: list[str | None] = [None, "red", "orange", "red", "blue"]
    async with transaction(sessions) as session:
        made: list[Watchlist] = []
        for i, (name, tier) in enumerate(zip(names, tiers, strict=True)):
            row = await rows.watchlist(
                session,
                acme.org.id,
                name,
                current_tier=tier,
                last_spike_at=T0 + timedelta(hours=i) if i % 2 else None,
            )
            row.created_at = T0 + timedelta(minutes=i)
            made.append(row)
        await rows.watchlist(session, rival.org.id, "奶粉质量", current_tier="red")
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
    for filter, test in checks:
        expected = ordered([w for w in made if test(w)], lambda w: w.name, descending=False)
        assert expected, filter
        assert await walk(gql, acme, "watchlistsConnection", filter=filter) == expected, filter
    by_created = {"field": "CREATED_AT", "direction": "DESC"}
    assert await walk(gql, acme, "watchlistsConnection", order_by=by_created) == [
        str(w.id) for w in reversed(made)
    ]


async def test_incidents_filter_by_openness_acknowledgement_and_window_and_sort_by_tier_and_status(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    plan = [
        (IncidentStatus.DETECTED, Tier.YELLOW, None),
        (IncidentStatus.RESOLVED, Tier.RED, T0),
        (IncidentStatus.RESPONDING, Tier.ORANGE, T0),
        (IncidentStatus.FALSE_ALARM, Tier.RED, None),
        (IncidentStatus.ACKNOWLEDGED, Tier.ORANGE, T0),
    ]
    async with transaction(sessions) as session:
        made: list[Incident] = []
        for i, (status, tier, acknowledged) in enumerate(plan):
            watched = await rows.watchlist(session, acme.org.id, f"清单{i}")
            row = await rows.incident(
                session, watched, detected_at=T0 + timedelta(hours=i), status=status, tier=tier
            )
            row.acknowledged_at = acknowledged
            row.crisis_type = CrisisType.DATA_LEAK.value if i == 2 else None
            made.append(row)
        await rows.incident(
            session, await rows.watchlist(session, rival.org.id), detected_at=T0, tier=Tier.RED
        )
    tier_rank = {"blue": 1, "yellow": 2, "orange": 3, "red": 4}
    lifecycle = [status.value for status in IncidentStatus]

    assert await walk(gql, acme, "incidents", order_by={"field": "TIER"}) == ordered(
        made, lambda i: tier_rank[i.tier], descending=True
    )
    assert await walk(
        gql, acme, "incidents", order_by={"field": "STATUS", "direction": "ASC"}
    ) == ordered(made, lambda i: lifecycle.index(i.status), descending=False)
    open_ones = {"detected", "acknowledged", "assessing", "responding", "recovering"}
    checks: list[tuple[dict[str, Any], Callable[[Incident], bool]]] = [
        ({"open": True}, lambda i: i.status in open_ones),
        ({"open": False}, lambda i: i.status not in open_ones),
        ({"acknowledged": False}, lambda i: i.acknowledged_at is None),
        (
            {"acknowledged": True, "tier": "ORANGE"},
            lambda i: i.acknowledged_at is not None and i.tier == "orange",
        ),
        ({"watchlistId": gid("Watchlist", made[3].watchlist_id)}, lambda i: i is made[3]),
        ({"crisisType": "DATA_LEAK"}, lambda i: i is made[2]),
        (
            {
                "detectedSince": (T0 + timedelta(hours=1)).isoformat(),
                "detectedUntil": (T0 + timedelta(hours=3)).isoformat(),
            },
            lambda i: T0 + timedelta(hours=1) <= i.detected_at < T0 + timedelta(hours=3),
        ),
    ]
    for filter, test in checks:
        expected = ordered([i for i in made if test(i)], lambda i: i.detected_at, descending=True)
        assert expected, filter
        assert await walk(gql, acme, "incidents", filter=filter) == expected, filter


async def test_stories_filter_by_size_and_activity_and_sort_by_mention_count(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await rows.watchlist(session, acme.org.id)
        made = []
        for i, count in enumerate([3, 12, 3, 40, 1]):
            first = await rows.mention(session, acme.org.id, posted_at=T0 + timedelta(hours=i))
            made.append(
                await rows.story(
                    session,
                    first,
                    f"故事{i}",
                    mention_count=count,
                    last_posted_at=T0 + timedelta(hours=10 - i),
                )
            )
            if i in (1, 2):
                await rows.watchlist_hit(session, watched, first, made[-1])
        rival_first = await rows.mention(session, rival.org.id, posted_at=T0)
        await rows.story(session, rival_first, mention_count=100)

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


# --- authors ------------------------------------------------------------------------------


AUTHORS = """
query($first: Int, $after: String, $filter: AuthorFilter, $orderBy: AuthorOrder) {
  authors(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    edges { node {
      databaseId handle source kind followers verified
      mentionCount negativeCount reach engagement influence lastPostedAt
    } }
  }
}
"""


async def test_authors_count_their_mentions_in_the_window_and_sort_by_each_figure(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await rows.watchlist(session, acme.org.id)
        people = [
            await rows.author(session, acme.org.id, "消费者小王", followers=300),
            await rows.author(
                session,
                acme.org.id,
                "财经媒体",
                followers=2_000_000,
                verified=True,
                kind=AuthorKind.MEDIA.value,
            ),
            await rows.author(session, acme.org.id, "宝妈日记", followers=50_000, kind="kol"),
            await rows.author(session, acme.org.id, "沉默用户", followers=10),
        ]
        posts: list[tuple[Mention, Sentiment | None, float, bool]] = []
        plan = [
            (0, 0, 100, Sentiment.NEGATIVE, 0.1, True),
            (0, 1, 50, Sentiment.NEGATIVE, 0.2, False),
            (0, 2, 0, None, 0.0, False),
            (1, 1, 90_000, Sentiment.NEUTRAL, 0.95, True),
            (1, 30, 10_000, Sentiment.NEGATIVE, 0.9, True),  # outside the window below
            (2, 3, 5_000, Sentiment.POSITIVE, 0.6, False),
            (2, 4, 5_000, Sentiment.NEGATIVE, 0.4, True),
        ]
        for who, hours, views, sentiment, influence, matched in plan:
            row = await rows.mention(
                session,
                acme.org.id,
                posted_at=T0 + timedelta(hours=hours),
                author_id=people[who].id,
                views=views,
                likes=hours,
                comments=1,
            )
            if sentiment is not None:
                await rows.analysis(
                    session, row, sentiment, [watched] if matched else [], influence=influence
                )
            posts.append((row, sentiment, influence, matched))
        stranger = await rows.author(session, rival.org.id, "消费者小王", followers=10**8)
        await rows.mention(session, rival.org.id, posted_at=T0, author_id=stranger.id, views=10**9)

    until = T0 + timedelta(hours=24)

    def figures(test: Callable[[Mention, bool], bool]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for row, sentiment, influence, matched in posts:
            if not test(row, matched):
                continue
            author = next(p for p in people if p.id == row.author_id)
            seen = out.setdefault(
                str(author.id),
                {
                    "mentionCount": 0,
                    "negativeCount": 0,
                    "reach": 0,
                    "engagement": 0,
                    "influence": 0.0,
                    "lastPostedAt": row.posted_at,
                    "followers": author.followers,
                },
            )
            seen["mentionCount"] += 1
            seen["negativeCount"] += sentiment is Sentiment.NEGATIVE
            seen["reach"] += row.views
            seen["engagement"] += row.reposts + row.comments + row.likes
            seen["influence"] = max(seen["influence"], influence)
            seen["lastPostedAt"] = max(seen["lastPostedAt"], row.posted_at)
        return out

    async def listed(
        filter: dict[str, Any] | None, order: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        variables = {"first": 50, "filter": filter, "orderBy": order}
        body = await gql(acme.auth(Role.VIEWER), AUTHORS, variables)
        assert "errors" not in body, body
        return [edge["node"] for edge in body["data"]["authors"]["edges"]]

    window = {"since": T0.isoformat(), "until": until.isoformat()}
    expected = figures(lambda row, _: T0 <= row.posted_at < until)
    for field in (
        "MENTION_COUNT",
        "REACH",
        "ENGAGEMENT",
        "INFLUENCE",
        "NEGATIVE_COUNT",
        "FOLLOWERS",
    ):
        key = {"MENTION_COUNT": "mentionCount", "NEGATIVE_COUNT": "negativeCount"}.get(
            field, field.lower()
        )
        nodes = await listed(window, {"field": field})
        assert [n["databaseId"] for n in nodes] == [
            id_
            for id_, _ in sorted(
                expected.items(), key=lambda item: (item[1][key], uuid.UUID(item[0])), reverse=True
            )
        ], field
    nodes = await listed(window, None)
    for node in nodes:
        want = expected[node["databaseId"]]
        assert node["mentionCount"] == want["mentionCount"]
        assert node["negativeCount"] == want["negativeCount"]
        assert node["reach"] == want["reach"]
        assert node["engagement"] == want["engagement"]
        assert node["influence"] == want["influence"]
        assert node["lastPostedAt"] == want["lastPostedAt"].isoformat()
    assert str(people[3].id) not in {n["databaseId"] for n in nodes}, "no mention, not listed"
    assert {n["handle"] for n in await listed({"handleContains": "小王"}, None)} == {"消费者小王"}

    on_watchlist = await listed({"watchlistId": gid("Watchlist", watched.id)}, None)
    hits = figures(lambda _, hit: hit)
    assert {n["databaseId"]: n["mentionCount"] for n in on_watchlist} == {
        id_: f["mentionCount"] for id_, f in hits.items()
    }
    media = await listed({"kind": "MEDIA", "verified": True, "minFollowers": 1_000_000}, None)
    assert [n["handle"] for n in media] == ["财经媒体"]

    walked = await walk(gql, acme, "authors", first=1, order_by={"field": "LAST_POSTED_AT"})
    everyone = figures(lambda *_: True)
    assert walked == [
        id_
        for id_, _ in sorted(
            everyone.items(),
            key=lambda item: (item[1]["lastPostedAt"], uuid.UUID(item[0])),
            reverse=True,
        )
    ]


# --- webhook deliveries -------------------------------------------------------------------


async def test_delivery_log_filters_by_event_type_and_status_and_sorts_by_attempts(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        ticketing = await rr.endpoint(session, acme.org.id)
        chat = await rr.endpoint(session, acme.org.id, "值班群")
        plan = [
            (ticketing, "succeeded", EventType.INCIDENT_OPENED, 1),
            (chat, "failed", EventType.TASK_OVERDUE, 8),
            (ticketing, "pending", EventType.TASK_OVERDUE, 3),
            (chat, "succeeded", EventType.INCIDENT_OPENED, 3),
            (ticketing, "gone", EventType.STATEMENT_PUBLISHED, 1),
        ]
        made = [
            await rr.delivery(
                session,
                target,
                T0 + timedelta(minutes=i // 2),
                status,
                event_type=event.value,
                attempts=attempts,
            )
            for i, (target, status, event, attempts) in enumerate(plan)
        ]
        await rr.delivery(session, await rr.endpoint(session, rival.org.id), T0)

    assert await walk(gql, acme, "webhookDeliveries", order_by={"field": "ATTEMPTS"}) == ordered(
        made, lambda d: d.attempts, descending=True
    )
    overdue = {"eventType": "TASK_OVERDUE"}
    assert await walk(gql, acme, "webhookDeliveries", filter=overdue) == ordered(
        made[1:3], lambda d: d.created_at, descending=True
    )
    assert await walk(
        gql,
        acme,
        "webhookDeliveries",
        filter={"endpointId": gid("WebhookEndpoint", chat.id), "status": "succeeded"},
    ) == [str(made[3].id)]
    refused = await page(gql, acme, "webhookDeliveries", filter={"status": "lost"})
    assert "`filter.status` must be one of pending, succeeded, failed, gone" in error(refused)


# --- tenancy ------------------------------------------------------------------------------


async def test_no_connection_ever_shows_another_organizations_rows(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await rows.watchlist(session, rival.org.id, current_tier="red")
        poster = await rows.author(session, rival.org.id)
        said = await rows.mention(session, rival.org.id, posted_at=T0, author_id=poster.id)
        await rows.analysis(session, said, Sentiment.NEGATIVE, [watched])
        await rows.story(session, said)
        await rows.signal(session, watched)
        opened = await rows.incident(session, watched, detected_at=T0)
        await rows.task(session, opened, "scope", "确认影响范围", 0, timedelta(hours=2))
        await rr.statement(session, opened)
        await rr.review(session, opened)
        await rr.delivery(session, await rr.endpoint(session, rival.org.id), T0)

    for field in INPUTS:
        assert len(await walk(gql, rival, field)) == 1, field
        assert await walk(gql, acme, field) == [], field
    # Filters naming the other organization's rows find nothing either.
    foreign = {"watchlistId": gid("Watchlist", watched.id)}
    for field in ("mentions", "signals", "incidents", "stories", "authors"):
        assert await walk(gql, acme, field, filter=foreign) == [], field
    assert await walk(gql, acme, "tasks", filter={"incidentId": gid("Incident", opened.id)}) == []


# --- reply library ------------------------------------------------------------------------

SIMILAR = """
query($text: String, $mentionId: ID, $first: Int!) {
  similarReplies(text: $text, mentionId: $mentionId, first: $first) {
    similarity
    case { databaseId category text reply createdBy }
    incident { databaseId }
    mention { databaseId }
  }
}
"""

COMPLAINT = "你们家的奶粉宝宝喝了以后一直拉肚子，客服电话也打不通，到底怎么回事？"
APOLOGY = "非常抱歉，我们已安排专员联系您。"


async def test_similar_replies_find_past_cases_but_never_deletion_advice(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await rows.watchlist(session, acme.org.id)
        opened = await rows.incident(session, watched, detected_at=T0)
        asked = await rows.mention(session, acme.org.id, posted_at=T0, text=COMPLAINT)
        cases = {
            "near": ("你們家的奶粉寶寶喝了之後一直拉肚子，客服電話打不通！", APOLOGY),
            "partial": ("奶粉喝了拉肚子怎么办", "请提供批次号，我们免费检测。"),
            "unrelated": ("快递三天了还没发货", "已催促仓库今日发出。"),
            "deleting": (COMPLAINT[:-4], "建议联系平台删帖处理。"),
        }
        stored: dict[str, ReplyCase] = {}
        for name, (text, reply) in cases.items():
            row = ReplyCase(
                organization_id=acme.org.id,
                incident_id=opened.id if name == "near" else None,
                mention_id=asked.id if name == "near" else None,
                category="产品质量",
                text=text,
                reply=reply,
                signature=signature(text),
                created_by="api_key:responder",
            )
            session.add(row)
            stored[name] = row
        session.add(
            ReplyCase(
                organization_id=rival.org.id,
                category="产品质量",
                text=COMPLAINT,
                reply="他们的回复",
                signature=signature(COMPLAINT),
                created_by="api_key:rival",
            )
        )

    by_text = await gql(acme.auth(Role.VIEWER), SIMILAR, {"text": COMPLAINT, "first": 5})
    found = by_text["data"]["similarReplies"]
    assert [f["case"]["databaseId"] for f in found] == [
        str(stored["near"].id),
        str(stored["partial"].id),
    ]
    assert found[0]["similarity"] > found[1]["similarity"] > 0
    assert found[0]["incident"] == {"databaseId": str(opened.id)}
    assert found[0]["mention"] == {"databaseId": str(asked.id)}
    assert found[0]["case"]["reply"] == APOLOGY
    assert all("删" not in f["case"]["reply"] for f in found)

    by_mention = await gql(
        acme.auth(Role.VIEWER), SIMILAR, {"mentionId": gid("Mention", asked.id), "first": 1}
    )
    assert [f["case"]["databaseId"] for f in by_mention["data"]["similarReplies"]] == [
        str(stored["near"].id)
    ]

    refusals = [
        ({"first": 5}, "Give exactly one of `text` and `mentionId`."),
        ({"text": "x", "mentionId": gid("Mention", asked.id), "first": 5}, "Give exactly one"),
        ({"mentionId": gid("Incident", opened.id), "first": 5}, "`mentionId` must be a Mention"),
        ({"text": COMPLAINT, "first": 0}, "`first` must be between 1 and 20"),
        ({"text": "   ", "first": 5}, "`text` is blank."),
    ]
    for variables, message in refusals:
        assert error(await gql(acme.auth(Role.VIEWER), SIMILAR, variables)).startswith(message)
    theirs = await gql(
        rival.auth(Role.VIEWER), SIMILAR, {"mentionId": gid("Mention", asked.id), "first": 5}
    )
    assert error(theirs) == "`mentionId` is not a mention of your organization."
    rival_found = await gql(rival.auth(Role.VIEWER), SIMILAR, {"text": COMPLAINT, "first": 5})
    assert [f["case"]["reply"] for f in rival_found["data"]["similarReplies"]] == ["他们的回复"]
