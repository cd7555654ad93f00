"""Stories (传播路径): first poster, amplifiers, repost tree, members in order, lists, tenancy."""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL, gid, page_cost
from libs.contracts.enums import AuthorKind, Role, Sentiment
from libs.database.engine import transaction
from libs.database.tables import Mention, Story
from tests.builders import Tenant

STORY = """
query Story($id: ID!) {
  story(id: $id) {
    id databaseId title mentionCount startedAt lastPostedAt
    firstMention { databaseId text }
    firstPoster { handle kind }
    amplifiers { influence author { handle kind } firstMention { databaseId } }
    repostTree { mention { databaseId } parentMention { databaseId } }
  }
}
"""

STORY_MENTIONS = """
query StoryMentions($id: ID!, $first: Int, $after: String) {
  story(id: $id) {
    mentions(first: $first, after: $after) {
      pageInfo { hasNextPage hasPreviousPage endCursor }
      edges { cursor node { databaseId postedAt } }
    }
  }
}
"""

STORIES = """
query Stories($first: Int, $after: String, $watchlistId: ID) {
  stories(first: $first, after: $after, watchlistId: $watchlistId) {
    pageInfo { hasNextPage endCursor }
    edges { node { databaseId title lastPostedAt } }
  }
}
"""


@dataclass
class Spread:
    """A story of seven mentions: who posted what, and which repost came through which."""

    story: Story
    members: list[Mention]
    elsewhere: Mention


async def seed_spread(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, suffix: str = ""
) -> Spread:
    """Store a complaint reposted by a KOL and a media account, with a comment and a copy.

    `suffix` tells apart the authors of several spreads in one organization.

    posted order: 0 consumer's original, 1 KOL comment (not amplifying), 2 media repost of 1
    (amplifying), 3 passer-by repost of 2, 4 KOL repost of 2 (amplifying), 5 passer-by copy
    with no parent, 6 repost of a post that is not stored.
    """
    org = tenant.org.id
    async with transaction(sessions) as session:
        consumer = await builders.author(session, org, f"消费者小王{suffix}", followers=800)
        kol = await builders.author(
            session, org, f"母婴大V{suffix}", followers=900_000, kind=AuthorKind.KOL.value
        )
        media = await builders.media_outlet(session, org, f"财经媒体{suffix}")
        passer = await builders.author(session, org, f"路人甲{suffix}", followers=35)
        plan: list[tuple[Any, int, int | None, float, bool]] = [
            # author, minutes after T0, parent index, influence, amplifier
            (consumer, 0, None, 0.05, False),
            (kol, 5, 0, 0.30, False),
            (media, 10, 1, 0.90, True),
            (passer, 12, 2, 0.02, False),
            (kol, 20, 2, 0.80, True),
            (passer, 25, None, 0.01, False),
            (passer, 30, -1, 0.01, False),
        ]
        members: list[Mention] = []
        for who, minutes, _, _, _ in plan:
            members.append(
                await builders.mention(
                    session,
                    org,
                    posted_at=T0 + timedelta(minutes=minutes),
                    author_id=who.id,
                    text=f"{who.handle}：禾岚奶粉喝了宝宝拉肚子 #禾岚奶粉#",
                )
            )
        spread = await builders.story(
            session,
            members[0],
            last_posted_at=members[-1].posted_at,
            mention_count=len(members),
        )
        for row, (_, _, parent, influence, amplifier) in zip(members, plan, strict=True):
            parent_id = (
                None if parent is None else (uuid.uuid4() if parent < 0 else members[parent].id)
            )
            await builders.analysis(
                session,
                row,
                Sentiment.NEGATIVE,
                story_id=spread.id,
                parent_mention_id=parent_id,
                influence=influence,
                amplifier=amplifier,
            )
        # The media account amplifies another story too; that must not count here.
        elsewhere = await builders.mention(
            session, org, posted_at=T0 - timedelta(hours=2), author_id=media.id
        )
        other = await builders.story(session, elsewhere, "禾岚门店服务差")
        await builders.analysis(
            session,
            elsewhere,
            Sentiment.NEGATIVE,
            story_id=other.id,
            influence=0.99,
            amplifier=True,
        )
    return Spread(story=spread, members=members, elsewhere=elsewhere)


async def test_story_has_first_poster_amplifiers_by_influence_and_repost_tree(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    spread = await seed_spread(sessions, acme)
    m = [str(row.id) for row in spread.members]

    body = await gql(acme.auth(Role.VIEWER), STORY, {"id": gid("Story", spread.story.id)})

    assert "errors" not in body, body
    found = body["data"]["story"]
    assert found["id"] == gid("Story", spread.story.id)
    assert found["databaseId"] == str(spread.story.id)
    assert found["title"] == "禾岚奶粉宝宝腹泻"
    assert found["mentionCount"] == 7
    assert found["startedAt"] == T0.isoformat()
    assert found["lastPostedAt"] == (T0 + timedelta(minutes=30)).isoformat()
    assert found["firstMention"]["databaseId"] == m[0]
    assert found["firstMention"]["text"].startswith("消费者小王")
    assert found["firstPoster"] == {"handle": "消费者小王", "kind": "USER"}
    # The KOL's highest influence comes from its later repost, its earliest mention is the
    # comment; the passer-by never amplified, and the media account's other story is ignored.
    assert found["amplifiers"] == [
        {
            "influence": 0.9,
            "author": {"handle": "财经媒体", "kind": "MEDIA"},
            "firstMention": {"databaseId": m[2]},
        },
        {
            "influence": 0.8,
            "author": {"handle": "母婴大V", "kind": "KOL"},
            "firstMention": {"databaseId": m[1]},
        },
    ]
    # Posting order; the copy without a parent and the repost of an unstored post are left out.
    assert found["repostTree"] == [
        {"mention": {"databaseId": m[1]}, "parentMention": {"databaseId": m[0]}},
        {"mention": {"databaseId": m[2]}, "parentMention": {"databaseId": m[1]}},
        {"mention": {"databaseId": m[3]}, "parentMention": {"databaseId": m[2]}},
        {"mention": {"databaseId": m[4]}, "parentMention": {"databaseId": m[2]}},
    ]


async def test_story_mentions_page_in_posting_order(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    spread = await seed_spread(sessions, acme)
    story_id = gid("Story", spread.story.id)

    first = await gql(acme.auth(Role.VIEWER), STORY_MENTIONS, {"id": story_id, "first": 4})
    page = first["data"]["story"]["mentions"]
    rest = await gql(
        acme.auth(Role.VIEWER),
        STORY_MENTIONS,
        {"id": story_id, "first": 4, "after": page["pageInfo"]["endCursor"]},
    )
    second = rest["data"]["story"]["mentions"]

    ids = [e["node"]["databaseId"] for e in page["edges"] + second["edges"]]
    assert ids == [str(row.id) for row in spread.members]
    assert page["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "endCursor": page["edges"][-1]["cursor"],
    }
    assert second["pageInfo"]["hasNextPage"] is False
    assert second["pageInfo"]["hasPreviousPage"] is True

    # A cursor from the newest-first story list is refused here.
    listed = await gql(acme.auth(Role.VIEWER), STORIES, {"first": 1})
    foreign = listed["data"]["stories"]["pageInfo"]["endCursor"]
    refused = await gql(acme.auth(Role.VIEWER), STORY_MENTIONS, {"id": story_id, "after": foreign})
    assert "not a cursor of this story-mention list" in refused["errors"][0]["message"]


async def test_a_mentions_analysis_leads_to_its_story_and_the_post_it_reposted(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    spread = await seed_spread(sessions, acme)
    query = """
    query($id: ID!) { mention(id: $id) { analysis {
      influence amplifier
      story { databaseId firstMention { databaseId } }
      parentMention { databaseId author { handle } }
    } } }
    """
    media_repost = await gql(
        acme.auth(Role.VIEWER), query, {"id": gid("Mention", spread.members[2].id)}
    )
    original = await gql(
        acme.auth(Role.VIEWER), query, {"id": gid("Mention", spread.members[0].id)}
    )
    unstored_parent = await gql(
        acme.auth(Role.VIEWER), query, {"id": gid("Mention", spread.members[6].id)}
    )

    assert media_repost["data"]["mention"]["analysis"] == {
        "influence": 0.9,
        "amplifier": True,
        "story": {
            "databaseId": str(spread.story.id),
            "firstMention": {"databaseId": str(spread.members[0].id)},
        },
        "parentMention": {"databaseId": str(spread.members[1].id), "author": {"handle": "母婴大V"}},
    }
    assert original["data"]["mention"]["analysis"]["parentMention"] is None
    assert unstored_parent["data"]["mention"]["analysis"]["parentMention"] is None


async def test_stories_list_most_recently_active_first_and_by_watchlist(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, acme.org.id, "奶粉质量")
        unrelated = await builders.watchlist(session, acme.org.id, "物流")
        made: list[Story] = []
        for i in range(4):
            start = await builders.mention(session, acme.org.id, posted_at=T0 + timedelta(hours=i))
            # Activity order differs from creation order: story 1 is the most recent.
            last = T0 + timedelta(hours=(10 if i == 1 else i))
            made.append(await builders.story(session, start, f"故事{i}", last_posted_at=last))
            if i in (0, 1):
                # Two hits of one watchlist in one story must still list the story once.
                await builders.watchlist_hit(session, watched, start, made[-1])
                late = await builders.mention(
                    session, acme.org.id, posted_at=T0 + timedelta(hours=i, minutes=5)
                )
                await builders.watchlist_hit(session, watched, late, made[-1])
        await builders.watchlist_hit(session, unrelated, start, made[3])
        foreign_start = await builders.mention(
            session, rival.org.id, posted_at=T0 + timedelta(days=1)
        )
        await builders.story(session, foreign_start, "别家的故事")

    viewer = acme.auth(Role.VIEWER)
    first = await gql(viewer, STORIES, {"first": 3})
    page = first["data"]["stories"]
    rest = await gql(viewer, STORIES, {"first": 3, "after": page["pageInfo"]["endCursor"]})
    listed = [e["node"]["databaseId"] for e in page["edges"] + rest["data"]["stories"]["edges"]]
    assert listed == [str(made[i].id) for i in (1, 3, 2, 0)]
    assert page["pageInfo"]["hasNextPage"] is True
    assert rest["data"]["stories"]["pageInfo"]["hasNextPage"] is False

    by_watchlist = await gql(viewer, STORIES, {"watchlistId": gid("Watchlist", watched.id)})
    assert [e["node"]["title"] for e in by_watchlist["data"]["stories"]["edges"]] == [
        "故事1",
        "故事0",
    ]
    wrong_type = await gql(viewer, STORIES, {"watchlistId": gid("Story", made[0].id)})
    assert "must be a Watchlist id" in wrong_type["errors"][0]["message"]


async def test_other_organizations_stories_are_invisible(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant, rival: Tenant
) -> None:
    spread = await seed_spread(sessions, acme)
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, acme.org.id)
        await builders.watchlist_hit(session, watched, spread.members[0], spread.story)
    outsider = rival.auth(Role.ADMIN)
    story_id = gid("Story", spread.story.id)

    assert (await gql(outsider, STORY, {"id": story_id}))["data"] == {"story": None}
    node = await gql(outsider, "query($id: ID!) { node(id: $id) { id } }", {"id": story_id})
    assert node["data"] == {"node": None}
    listed = await gql(outsider, STORIES, {"watchlistId": gid("Watchlist", watched.id)})
    assert listed["data"]["stories"]["edges"] == []
    assert (await gql(outsider, STORIES))["data"]["stories"]["edges"] == []
    members = await gql(outsider, STORY_MENTIONS, {"id": story_id})
    assert members["data"] == {"story": None}

    own = await gql(
        acme.auth(Role.VIEWER),
        "query($id: ID!) { node(id: $id) { __typename ... on Story { title } } }",
        {"id": story_id},
    )
    assert own["data"]["node"] == {"__typename": "Story", "title": "禾岚奶粉宝宝腹泻"}


async def test_a_page_of_stories_costs_the_same_number_of_queries_whatever_its_size(
    app: FastAPI, gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    for i in range(3):
        await seed_spread(sessions, acme, suffix=str(i))
    query = """
    query($first: Int) { stories(first: $first) { edges { node {
      title firstMention { text } firstPoster { handle }
      amplifiers { influence author { handle } firstMention { postedAt } }
      repostTree { mention { databaseId } parentMention { databaseId } }
    } } } }
    """
    cost = await page_cost(
        app, lambda first: gql(acme.auth(Role.VIEWER), query, {"first": first}), 1, 6
    )
    large = cost.body
    stories = large["data"]["stories"]["edges"]
    assert len(stories) == 6
    assert sum(len(s["node"]["amplifiers"]) for s in stories) == 3 * 2 + 3
    # page; first mentions, first posters, amplifiers, repost links (with both ends) at the
    # story level; the amplifiers' authors and their first mentions below it.
    assert cost.small == cost.large == 7
