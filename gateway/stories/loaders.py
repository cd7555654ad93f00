"""The story reads: stories by id, each story's amplifiers, repost links and mentions.

Each per-story list is read for a whole page of stories in one query and bounded per story
in SQL (a row number per story, or for the mentions a keyset page per story), so neither a
story with ten thousand reposts nor a page of a hundred stories can make one field read
without limit.
"""

import dataclasses
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, tuple_
from sqlalchemy import select as core_select
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.nested import NestedList
from gateway.core.pagination import Ordering
from gateway.core.reads import Batched, ById, plain_columns
from libs.database.tables import Mention, MentionAnalysis, Story

STORIES = ById(Story, col(Story.id))


@dataclass(frozen=True)
class AmplifierRow:
    """An author who amplified a story: their highest influence and their earliest mention."""

    author_id: uuid.UUID
    influence: float
    first_mention_id: uuid.UUID


@dataclass(frozen=True)
class RepostRow:
    """A story member and the mention it was reposted from."""

    mention: Mention
    parent: Mention


# Every list of a story is bounded: `first` rows per story (at most these), counted in SQL.
DEFAULT_AMPLIFIERS = 100
MAX_AMPLIFIERS = 100
DEFAULT_REPOST_LINKS = 100
MAX_REPOST_LINKS = 500
MEMBER_KIND = "story-mention"
MEMBER_ORDER = Ordering("POSTED_AT", col(Mention.posted_at), datetime, descending=False)


@dataclass(frozen=True)
class AmplifiersOf:
    """The `first` most influential amplifiers of one story."""

    story_id: uuid.UUID
    first: int


@dataclass(frozen=True)
class RepostsOf:
    """Up to `first` repost links of one story, from after the member `after` (a mention id)."""

    story_id: uuid.UUID
    first: int
    after: uuid.UUID | None


Key = TypeVar("Key", AmplifiersOf, RepostsOf)
Value = TypeVar("Value")


def _by_arguments(
    read: Callable[[AsyncSession, uuid.UUID, list[Key]], Awaitable[dict[Key, Value]]],
) -> Callable[[AsyncSession, uuid.UUID, list[Key]], Awaitable[list[Value]]]:
    """Answer a batch with one query per set of arguments (stories of one page share theirs)."""

    async def batch(
        session: AsyncSession, organization_id: uuid.UUID, keys: list[Key]
    ) -> list[Value]:
        groups: dict[tuple[Any, ...], list[Key]] = defaultdict(list)
        for key in keys:
            groups[_arguments(key)].append(key)
        found: dict[Key, Value] = {}
        for group in groups.values():
            found.update(await read(session, organization_id, group))
        return [found[key] for key in keys]

    return batch


def _arguments(key: AmplifiersOf | RepostsOf) -> tuple[Any, ...]:
    fields = dataclasses.astuple(key)
    return fields[1:]


async def _amplifiers(
    session: AsyncSession, organization_id: uuid.UUID, keys: list[AmplifiersOf]
) -> dict[AmplifiersOf, list[AmplifierRow]]:
    # One pass over the stories' members: per (story, author) the window functions give
    # the highest influence, whether any of their mentions amplified, and their first post;
    # then each story's amplifiers are ranked and cut at `first`.
    ids, first = [key.story_id for key in keys], keys[0].first
    analysis, mention = MentionAnalysis, Mention
    author = (col(analysis.story_id), col(mention.author_id))
    members = (
        # SQLAlchemy's own select: sqlmodel's overloads stop at four columns.
        core_select(
            col(analysis.story_id).label("story_id"),
            col(mention.author_id).label("author_id"),
            col(mention.id).label("mention_id"),
            col(mention.posted_at).label("posted_at"),
            func.max(col(analysis.influence)).over(partition_by=author).label("influence"),
            func.bool_or(col(analysis.amplifier)).over(partition_by=author).label("amplifies"),
            func.row_number()
            .over(partition_by=author, order_by=(col(mention.posted_at), col(mention.id)))
            .label("position"),
        )
        .join(mention, col(mention.id) == col(analysis.mention_id))
        .where(
            col(analysis.story_id).in_(ids),
            col(analysis.organization_id) == organization_id,
            col(mention.organization_id) == organization_id,
            col(mention.author_id).is_not(None),
        )
        .subquery()
    )
    order = (members.c.influence.desc(), members.c.posted_at, members.c.author_id)
    ranked = (
        core_select(
            members.c.story_id,
            members.c.author_id,
            members.c.influence,
            members.c.mention_id,
            members.c.posted_at,
            func.row_number().over(partition_by=members.c.story_id, order_by=order).label("rank"),
        )
        .where(members.c.amplifies, members.c.position == 1)
        .subquery()
    )
    statement = (
        select(ranked.c.story_id, ranked.c.author_id, ranked.c.influence, ranked.c.mention_id)
        .where(ranked.c.rank <= first)
        .order_by(ranked.c.influence.desc(), ranked.c.posted_at, ranked.c.author_id)
    )
    grouped: dict[uuid.UUID, list[AmplifierRow]] = defaultdict(list)
    for story_id, author_id, influence, mention_id in (await session.exec(statement)).all():
        grouped[story_id].append(AmplifierRow(author_id, float(influence), mention_id))
    return {key: grouped[key.story_id] for key in keys}


async def _reposts(
    session: AsyncSession, organization_id: uuid.UUID, keys: list[RepostsOf]
) -> dict[RepostsOf, list[RepostRow]]:
    # Both ends come back with the links, so drawing a tree costs this one query; the
    # inner join on the parent drops links to posts that are not stored. Each story's
    # links are numbered in posting order and cut at `first`, after the member `after`.
    ids, first, after = [key.story_id for key in keys], keys[0].first, keys[0].after
    analysis = MentionAnalysis
    child, parent = aliased(Mention), aliased(Mention)
    conditions = [
        col(analysis.story_id).in_(ids),
        col(analysis.organization_id) == organization_id,
        col(child.organization_id) == organization_id,
        col(parent.organization_id) == organization_id,
    ]
    if after is not None:
        seen = aliased(Mention)
        last = core_select(col(seen.posted_at), col(seen.id)).where(
            col(seen.id) == after, col(seen.organization_id) == organization_id
        )
        # A mention of another organization (or none) leaves nothing after it.
        conditions.append(tuple_(col(child.posted_at), col(child.id)) > last.scalar_subquery())
    links = (
        core_select(
            col(analysis.story_id).label("story_id"),
            col(child.id).label("child_id"),
            col(parent.id).label("parent_id"),
            func.row_number()
            .over(
                partition_by=col(analysis.story_id),
                order_by=(col(child.posted_at), col(child.id)),
            )
            .label("position"),
        )
        .join(child, col(child.id) == col(analysis.mention_id))
        .join(parent, col(parent.id) == col(analysis.parent_mention_id))
        .where(*conditions)
        .subquery()
    )
    shown_child, shown_parent = aliased(Mention), aliased(Mention)
    statement = (
        select(links.c.story_id, shown_child, shown_parent)
        .join(shown_child, col(shown_child.id) == links.c.child_id)
        .join(shown_parent, col(shown_parent.id) == links.c.parent_id)
        .where(links.c.position <= first)
        .order_by(links.c.story_id, links.c.position)
    )
    grouped: dict[uuid.UUID, list[RepostRow]] = defaultdict(list)
    for story_id, mention, parent_mention in (await session.exec(statement)).all():
        grouped[story_id].append(RepostRow(mention, parent_mention))
    return {key: grouped[key.story_id] for key in keys}


AMPLIFIERS_BY_STORY = Batched(_by_arguments(_amplifiers))
REPOSTS_BY_STORY = Batched(_by_arguments(_reposts))


def _members(organization_id: uuid.UUID) -> Any:
    """The organization's mentions that joined a story, each with its story's id."""
    return (
        core_select(*plain_columns(Mention))
        .join(MentionAnalysis, col(MentionAnalysis.mention_id) == col(Mention.id))
        .where(
            col(MentionAnalysis.organization_id) == organization_id,
            col(Mention.organization_id) == organization_id,
        )
    )


def _reposts_of(organization_id: uuid.UUID) -> Any:
    """The organization's story members that came through a stored repost, with its id."""
    parent = aliased(Mention)
    return (
        core_select(
            *plain_columns(Mention), col(MentionAnalysis.parent_mention_id).label("parent_id")
        )
        .join(MentionAnalysis, col(MentionAnalysis.mention_id) == col(Mention.id))
        .join(parent, col(parent.id) == col(MentionAnalysis.parent_mention_id))
        .where(
            col(MentionAnalysis.organization_id) == organization_id,
            col(Mention.organization_id) == organization_id,
            col(parent.organization_id) == organization_id,
        )
    )


REPOST_PAGES = NestedList(
    kind="story-repost",
    rows=_reposts_of,
    parent=col(MentionAnalysis.story_id),
    id_column=col(Mention.id),
    ordering=MEMBER_ORDER,
)
MEMBERS_BY_STORY = NestedList(
    kind=MEMBER_KIND,
    rows=_members,
    parent=col(MentionAnalysis.story_id),
    id_column=col(Mention.id),
    ordering=MEMBER_ORDER,
)
