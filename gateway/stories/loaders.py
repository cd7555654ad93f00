"""The story reads: stories by id, each story's amplifiers, repost links and mentions."""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func
from sqlalchemy import select as core_select
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

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


async def _amplifiers(
    session: AsyncSession, organization_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[list[AmplifierRow]]:
    # One pass over the stories' members: per (story, author) the window functions give
    # the highest influence, whether any of their mentions amplified, and their first post.
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
    statement = (
        select(members.c.story_id, members.c.author_id, members.c.influence, members.c.mention_id)
        .where(members.c.amplifies, members.c.position == 1)
        .order_by(members.c.influence.desc(), members.c.posted_at, members.c.author_id)
    )
    grouped: dict[uuid.UUID, list[AmplifierRow]] = defaultdict(list)
    for story_id, author_id, influence, mention_id in (await session.exec(statement)).all():
        grouped[story_id].append(AmplifierRow(author_id, float(influence), mention_id))
    return [grouped[id_] for id_ in ids]


async def _reposts(
    session: AsyncSession, organization_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[list[RepostRow]]:
    # Both ends come back with the links, so drawing a tree costs this one query; the
    # inner join on the parent drops links to posts that are not stored.
    analysis = MentionAnalysis
    child, parent = aliased(Mention), aliased(Mention)
    statement = (
        select(col(analysis.story_id), child, parent)
        .join(child, col(child.id) == col(analysis.mention_id))
        .join(parent, col(parent.id) == col(analysis.parent_mention_id))
        .where(
            col(analysis.story_id).in_(ids),
            col(analysis.organization_id) == organization_id,
            col(child.organization_id) == organization_id,
            col(parent.organization_id) == organization_id,
        )
        .order_by(col(child.posted_at), col(child.id))
    )
    grouped: dict[uuid.UUID, list[RepostRow]] = defaultdict(list)
    for story_id, mention, parent_mention in (await session.exec(statement)).all():
        if story_id is not None:
            grouped[story_id].append(RepostRow(mention, parent_mention))
    return [grouped[id_] for id_ in ids]


AMPLIFIERS_BY_STORY = Batched(_amplifiers)
REPOSTS_BY_STORY = Batched(_reposts)


def story_mentions(story_id: uuid.UUID, organization_id: uuid.UUID) -> Select[Any]:
    """Select the story's mentions as plain rows, for a page in posting order."""
    analysis = MentionAnalysis
    statement: Select[Any] = (
        select(*plain_columns(Mention))
        .join(analysis, col(analysis.mention_id) == col(Mention.id))
        .where(
            col(analysis.story_id) == story_id,
            col(analysis.organization_id) == organization_id,
            col(Mention.organization_id) == organization_id,
        )
    )
    return statement
