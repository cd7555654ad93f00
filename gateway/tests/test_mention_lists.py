"""The mention list: every order pages each row once, every filter narrows, cursors stay
in their order and list, and no list shows another organization's rows.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL, gid
from gateway.tests.connections import INPUTS, error, ordered, page, walk, walk_back
from libs.contracts.enums import (
    AuthorKind,
    CrisisType,
    Sentiment,
    Source,
)
from libs.database.engine import transaction
from libs.database.tables import Mention, MentionFailure, Organization
from libs.database.unanalysed import CHECK_MARGIN
from tests.builders import Sessions, Tenant

# --- mentions -----------------------------------------------------------------------------


async def seed_mentions(sessions: Sessions, acme: Tenant, rival: Tenant) -> dict[str, Any]:
    """Store acme mentions with ties in every key, some unanalysed, and a loud rival one."""
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, acme.org.id)
        media = await builders.author(session, acme.org.id, "财经媒体", kind=AuthorKind.MEDIA.value)
        first = await builders.mention(session, acme.org.id, posted_at=T0 - timedelta(days=1))
        spread = await builders.story(session, first)
        stored: list[Mention] = []
        influence: dict[uuid.UUID, float] = {}
        facts: dict[uuid.UUID, dict[str, Any]] = {}
        for i in range(9):
            row = await builders.mention(
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
            await builders.analysis(
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
        loud = await builders.mention(session, rival.org.id, posted_at=T0, views=10**9, likes=10**6)
        await builders.analysis(session, loud, Sentiment.NEGATIVE, influence=1.0)
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


async def test_mentions_by_influence_merge_unanalysed_ones_at_zero_by_id(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    """The influence order is read in two parts (analysed ones through their index, the
    others at 0 by id) and merged: every page, forward and backward, either direction,
    must list what one sort on (coalesce(influence, 0), id) lists, the unanalysed mentions
    among the analysed ones at exactly 0, and below any negative influence."""
    scores: list[float | None] = [None, 0.0, 3.5, None, 0.0, -1.0, 3.5, None, 12.0, 0.0, -1.0]
    scores += [None, 3.5, 0.0]
    influence: dict[uuid.UUID, float] = {}
    negative: set[uuid.UUID] = set()
    async with transaction(sessions) as session:
        stored = []
        for i, score in enumerate(scores):
            row = await builders.mention(session, acme.org.id, posted_at=T0 - timedelta(hours=i))
            stored.append(row)
            influence[row.id] = 0.0 if score is None else score
            if score is None:
                continue
            sentiment = Sentiment.NEGATIVE if i % 2 else Sentiment.NEUTRAL
            await builders.analysis(session, row, sentiment, influence=score)
            if sentiment is Sentiment.NEGATIVE:
                negative.add(row.id)
        loud = await builders.mention(session, rival.org.id, posted_at=T0)
        await builders.analysis(session, loud, Sentiment.NEGATIVE, influence=5.0)
        quiet = await builders.mention(session, rival.org.id, posted_at=T0)  # unanalysed
    # Several unanalysed and analysed mentions share 0: the merge must interleave them by id.
    at_zero = [m for m in stored if influence[m.id] == 0.0]
    assert len(at_zero) == 8

    def key(m: Mention) -> float:
        return influence[m.id]

    for direction in ("ASC", "DESC"):
        order = {"field": "INFLUENCE", "direction": direction}
        expected = ordered(stored, key, descending=direction == "DESC")
        for size in (1, 2, 3, 5, 20):
            assert await walk(gql, acme, "mentions", first=size, order_by=order) == expected, (
                direction,
                size,
            )
            assert await walk_back(gql, acme, "mentions", last=size, order_by=order) == expected, (
                direction,
                size,
            )
        # Between two cursors, from either end.
        whole = await page(gql, acme, "mentions", first=20, order_by=order)
        cursors = [edge["cursor"] for edge in whole["data"]["mentions"]["edges"]]
        for start, end in ((0, 13), (2, 9), (4, 6), (5, 12)):
            for first, last in ((20, None), (None, 20)):
                between = await page(
                    gql,
                    acme,
                    "mentions",
                    after=cursors[start],
                    before=cursors[end],
                    order_by=order,
                    first=first,
                    last=last,
                )
                ids = [edge["node"]["databaseId"] for edge in between["data"]["mentions"]["edges"]]
                assert ids == expected[start + 1 : end], (direction, start, end, first)
        # Other filters still hold with the influence order.
        listed = await walk(gql, acme, "mentions", filter={"sentiment": "NEGATIVE"}, order_by=order)
        assert listed == [id_ for id_ in expected if uuid.UUID(id_) in negative]
        waiting = await walk(gql, acme, "mentions", filter={"analyzed": False}, order_by=order)
        unanalysed = {str(stored[i].id) for i, score in enumerate(scores) if score is None}
        assert waiting == [id_ for id_ in expected if id_ in unanalysed]
        recent = await walk(
            gql,
            acme,
            "mentions",
            filter={"since": (T0 - timedelta(hours=6)).isoformat()},
            order_by=order,
        )
        assert recent == [id_ for id_ in expected if id_ in {str(m.id) for m in stored[:7]}]
    assert str(loud.id) not in expected and str(quiet.id) not in expected


async def test_waiting_mentions_are_read_from_the_reconcilers_mark_and_failure_rows(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    """Once the reconciler has checked an organization up to a mark, a mention still
    waiting is one stored since the mark (less the margin) or one with a failure row; the
    list and the influence order's zero part read those, and find every waiting one."""
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        old = now - timedelta(hours=3)
        tried = await builders.mention(session, acme.org.id, posted_at=old, ingested_at=old)
        session.add(
            MentionFailure(
                mention_id=tried.id,
                organization_id=acme.org.id,
                reason="timeout",
                first_failed_at=old,
                last_failed_at=old,
            )
        )
        fresh = await builders.mention(session, acme.org.id, posted_at=now, ingested_at=now)
        margin = now - CHECK_MARGIN + timedelta(minutes=1)
        edge = await builders.mention(session, acme.org.id, posted_at=old, ingested_at=margin)
        done = await builders.mention(session, acme.org.id, posted_at=old, ingested_at=old)
        await builders.analysis(session, done, Sentiment.NEGATIVE, influence=0.4)
        recent_done = await builders.mention(session, acme.org.id, posted_at=now, ingested_at=now)
        await builders.analysis(session, recent_done, Sentiment.NEUTRAL, influence=0.1)
        other = await builders.mention(session, rival.org.id, posted_at=now, ingested_at=now)
        # Neither analysed nor given a failure row, though stored before the mark: what the
        # reconciler never leaves, so the read does not look there (it would search every
        # mention to find it).
        outside = now - CHECK_MARGIN - timedelta(minutes=1)
        unchecked = await builders.mention(session, acme.org.id, posted_at=old, ingested_at=outside)
        org = await session.get(Organization, acme.org.id)
        assert org is not None
        org.unanalysed_checked_until = now
        session.add(org)
    waiting = {str(m.id) for m in (tried, fresh, edge)}
    assert set(await walk(gql, acme, "mentions", filter={"analyzed": False})) == waiting
    ascending = await walk(
        gql, acme, "mentions", first=2, order_by={"field": "INFLUENCE", "direction": "ASC"}
    )
    assert set(ascending[:3]) == waiting
    assert ascending[3:] == [str(recent_done.id), str(done.id)]
    descending = await walk_back(
        gql, acme, "mentions", last=2, order_by={"field": "INFLUENCE", "direction": "DESC"}
    )
    assert descending == list(reversed(ascending))
    assert str(other.id) not in ascending
    assert str(unchecked.id) not in ascending


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


# --- tenancy ------------------------------------------------------------------------------


async def test_no_connection_ever_shows_another_organizations_rows(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, rival.org.id, current_tier="red")
        poster = await builders.author(session, rival.org.id)
        said = await builders.mention(session, rival.org.id, posted_at=T0, author_id=poster.id)
        await builders.analysis(session, said, Sentiment.NEGATIVE, [watched])
        await builders.story(session, said)
        await builders.signal(session, watched)
        opened = await builders.incident(session, watched, detected_at=T0)
        await builders.task(session, opened, "scope", "确认影响范围", 0, timedelta(hours=2))
        await builders.statement(session, opened)
        await builders.review(session, opened)
        await builders.delivery(session, await builders.endpoint(session, rival.org.id), T0)

    for field in INPUTS:
        assert len(await walk(gql, rival, field)) == 1, field
        assert await walk(gql, acme, field) == [], field
    # Filters naming the other organization's rows find nothing either.
    foreign = {"watchlistId": gid("Watchlist", watched.id)}
    for field in ("mentions", "signals", "incidents", "stories", "authors"):
        assert await walk(gql, acme, field, filter=foreign) == [], field
    assert await walk(gql, acme, "tasks", filter={"incidentId": gid("Incident", opened.id)}) == []
