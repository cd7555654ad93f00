"""Shapes both routes share: the mention as stored from either, checked text, problem documents."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    field_validator,
)

from libs.contracts.enums import AuthorKind, Source

# Counts are stored as 32-bit integers; a larger value is a sender's bug, not a real count.
MAX_COUNT = 2_147_483_647
MAX_URL_LENGTH = 2000
EARLIEST_POST = datetime(2000, 1, 1, tzinfo=UTC)
# Clocks drift and partners batch late, but a post dated days ahead is a wrong time zone.
FUTURE_TOLERANCE = timedelta(days=1)


def _no_nul(value: str) -> str:
    """Refuse NUL characters, which PostgreSQL text cannot hold."""
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\u0000) characters")
    return value


def plausible_time(value: datetime) -> datetime:
    """Refuse a time before 2000 or more than a day ahead (a wrong time zone offset)."""
    if value < EARLIEST_POST:
        raise ValueError("must be in the year 2000 or later")
    if value > datetime.now(UTC) + FUTURE_TOLERANCE:
        raise ValueError("is more than a day in the future; check its time zone offset")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
PlausibleTime = Annotated[AwareDatetime, AfterValidator(plausible_time)]


class AuthorIn(BaseModel):
    """Who posted the mention."""

    handle: Text = Field(min_length=1, max_length=200, description="Account name on the source.")
    followers: Count = 0
    verified: bool = False
    kind: AuthorKind = AuthorKind.USER


class MetricsIn(BaseModel):
    """Engagement counts at the time of collection."""

    reposts: Count = 0
    comments: Count = 0
    likes: Count = 0
    views: Count = 0


class MentionIn(BaseModel):
    """One post or complaint as a partner or crawler sends it."""

    model_config = ConfigDict(str_strip_whitespace=True)

    source: Source
    external_id: Text = Field(
        min_length=1, max_length=200, description="The post's id on its source."
    )
    text: Text = Field(min_length=1, max_length=20_000)
    url: HttpUrl | None = None
    posted_at: PlausibleTime = Field(description="ISO 8601 with a time zone offset.")
    author: AuthorIn
    metrics: MetricsIn = Field(default_factory=MetricsIn)
    repost_of: Text | None = Field(
        default=None, max_length=200, description="external_id of the post this one reposts."
    )
    drill_id: uuid.UUID | None = Field(
        default=None,
        description=(
            "The drill that plays this post (演练, its `databaseId`), as `crisiswatch drill` "
            "sends it. It reaches only that drill's watchlist, so it never opens a real incident."
        ),
    )

    @field_validator("url", mode="before")
    @classmethod
    def _blank_url_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and len(value) > MAX_URL_LENGTH:
            raise ValueError(f"must be at most {MAX_URL_LENGTH} characters")
        return None if value == "" else value


class FieldError(BaseModel):
    """A rejected field with the reason, e.g. `mentions[3].posted_at`."""

    field: str
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] = Field(default_factory=list)


class QuotaProblem(Problem):
    """A push refused by an organization's mention quota, which `quota` names (an RFC 9457
    extension member) with its `limit`."""

    quota: str = Field(description="`mentionsPerMinute` or `mentionsPerDay`.")
    limit: int
