"""A story by id and the story list, the most recently active first unless sorted otherwise."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from strawberry import relay

from gateway.core.context import Info
from gateway.core.filters import Scope, at_least, at_or_after, before, condition
from gateway.core.inputs import local_id, require_id
from gateway.core.listing import Key, ListSpec, Sorting
from gateway.stories.types import Story
from libs.database import tables

story, hit = tables.Story, tables.WatchlistHit


def _watched_by(value: Any, scope: Scope, field: str) -> ColumnElement[bool]:
    """The story has a mention the watchlist named by `value` matched."""
    return (
        select(hit.mention_id)
        .where(
            col(hit.watchlist_id) == require_id(value, "Watchlist", field),
            col(hit.organization_id) == scope.organization_id,
            col(hit.story_id) == col(story.id),
        )
        .exists()
    )


@strawberry.input(description="Narrow a story list; every given condition must hold.")
class StoryFilter:
    watchlist_id: relay.GlobalID | None = condition(
        _watched_by, "Only stories with a mention this watchlist matched."
    )
    min_mentions: int | None = at_least(story.mention_count, "At least this many mentions.")
    active_since: datetime | None = at_or_after(story.last_posted_at, "Last posted at or after.")
    active_until: datetime | None = before(story.last_posted_at, "Last posted before.")


STORY_ORDER = Sorting(
    "Sort stories.",
    LAST_POSTED_AT=Key.time(story.last_posted_at),
    STARTED_AT=Key.time(story.started_at),
    MENTION_COUNT=Key(col(story.mention_count), int),
)
STORY_LIST = ListSpec(
    Story,
    StoryFilter,
    STORY_ORDER,
    arguments={"watchlist_id": (relay.GlobalID | None, condition(_watched_by))},
)


@strawberry.type
class StoryQuery:
    @strawberry.field(description="One story by its global id; null if not in your organization.")
    async def story(self, info: Info, id: relay.GlobalID) -> Story | None:
        return await Story.load(info, local_id(id, "Story"))

    stories = STORY_LIST.connection_field(
        "Stories (传播路径), the most recently active first unless `orderBy` says "
        "otherwise; with `watchlistId`, only stories with a mention that watchlist matched."
    )
