"""A story as clients read it: its first post and poster, amplifiers, members and repost tree."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from gateway.core.connection import Connection
from gateway.core.context import Info
from gateway.core.errors import GatewayError
from gateway.core.inputs import optional_id
from gateway.core.nodes import LoadedNode
from gateway.mentions.types import Author, Mention
from gateway.stories.loaders import (
    AMPLIFIERS_BY_STORY,
    DEFAULT_AMPLIFIERS,
    DEFAULT_REPOST_LINKS,
    MAX_AMPLIFIERS,
    MAX_REPOST_LINKS,
    MEMBERS_BY_STORY,
    REPOST_PAGES,
    REPOSTS_BY_STORY,
    STORIES,
    AmplifiersOf,
    RepostsOf,
)


@strawberry.type(description="An author who carried a story to a large audience (放大者).")
class Amplifier:
    influence: float = strawberry.field(
        description="The highest influence among the author's mentions in the story."
    )
    author_id: strawberry.Private[uuid.UUID]
    first_mention_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Who amplified the story.")
    async def author(self, info: Info) -> Author:
        return await Author.require(info, self.author_id)

    @strawberry.field(description="The author's earliest mention in the story.")
    async def first_mention(self, info: Info) -> Mention:
        return await Mention.require(info, self.first_mention_id)


@strawberry.type(description="One repost link of a story: a mention and the post it came through.")
class RepostEdge:
    mention: Mention = strawberry.field(description="The repost.")
    parent_mention: Mention = strawberry.field(description="The mention it was reposted from.")


@strawberry.type(description="One repost link of a story: a mention and the post it came through.")
class RepostLink:
    mention: Mention = strawberry.field(description="The repost.")
    parent_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: Any) -> "RepostLink":
        """Build from a repost read: the member's columns and its parent's id."""
        return cls(mention=Mention.from_row(row), parent_id=row.parent_id)

    @strawberry.field(description="The mention it was reposted from.")
    async def parent_mention(self, info: Info) -> Mention:
        return await Mention.require(info, self.parent_id)


@strawberry.type(
    description=(
        "One post and its reposts and near-duplicates (传播路径): how a piece of content spread."
    )
)
class Story(LoadedNode):
    ROWS = STORIES

    title: str
    mention_count: int
    started_at: datetime = strawberry.field(description="When the first mention was posted.")
    last_posted_at: datetime = strawberry.field(description="When the latest one was posted.")
    first_mention_id: strawberry.Private[uuid.UUID]
    first_author_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The post that started the story (首发).")
    async def first_mention(self, info: Info) -> Mention:
        return await Mention.require(info, self.first_mention_id)

    @strawberry.field(description="Who posted first, when the source told us.")
    async def first_poster(self, info: Info) -> Author | None:
        return await Author.load(info, self.first_author_id)

    @strawberry.field(
        description=(
            "Authors with at least one amplifying mention in the story, most influential "
            f"first: the first `first` of them ({DEFAULT_AMPLIFIERS} unless asked, at most "
            f"{MAX_AMPLIFIERS})."
        )
    )
    async def amplifiers(self, info: Info, first: int = DEFAULT_AMPLIFIERS) -> list[Amplifier]:
        _check_size(first, MAX_AMPLIFIERS)
        rows = await info.context.loaders.of(AMPLIFIERS_BY_STORY).load(AmplifiersOf(self.id, first))
        return [
            Amplifier(
                influence=row.influence,
                author_id=row.author_id,
                first_mention_id=row.first_mention_id,
            )
            for row in rows
        ]

    @strawberry.field(description="The story's mentions in posting order, oldest first.")
    async def mentions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Mention]:
        return await MEMBERS_BY_STORY.connection(
            info, self.id, Mention.from_row, first, after, last, before
        )

    @strawberry.field(
        description=(
            "Each member that came through a repost, linked to its parent, in posting order; "
            "follow the links from `firstMention` to draw the spread. At most `first` links "
            f"({DEFAULT_REPOST_LINKS} unless asked, at most {MAX_REPOST_LINKS}); for the next "
            "ones pass the last link's `mention.id` as `after`."
        ),
        deprecation_reason="Use repostTreeConnection; removal on 2027-06-30",
    )
    async def repost_tree(
        self, info: Info, first: int = DEFAULT_REPOST_LINKS, after: relay.GlobalID | None = None
    ) -> list[RepostEdge]:
        _check_size(first, MAX_REPOST_LINKS)
        last = optional_id(after, "Mention", "after")
        links = await info.context.loaders.of(REPOSTS_BY_STORY).load(
            RepostsOf(self.id, first, last)
        )
        return [
            RepostEdge(
                mention=Mention.from_row(link.mention), parent_mention=Mention.from_row(link.parent)
            )
            for link in links
        ]

    @strawberry.field(
        description=(
            "Each member that came through a repost, linked to its parent, in posting order, "
            "page by page; follow the links from `firstMention` to draw the spread."
        )
    )
    async def repost_tree_connection(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[RepostLink]:
        return await REPOST_PAGES.connection(
            info, self.id, RepostLink.from_row, first, after, last, before
        )


def _check_size(first: int, most: int) -> None:
    if first < 1 or first > most:
        raise GatewayError(f"`first` must be between 1 and {most}, got {first}.")
