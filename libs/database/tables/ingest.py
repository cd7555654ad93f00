"""Authors, mentions, complaints and idempotency records, written only by the ingest service;
and the mentions that need attention, which analysis writes too.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, LargeBinary, UniqueConstraint
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from libs.database.tables._types import (
    OrganizationRow,
    at_field,
    child_of,
    gin_index,
    org_field,
)

REASON_LIMIT = 1000
"""A failure's reason is cut to this many characters: enough for an error's first lines."""


class Author(OrganizationRow, table=True):
    """Who posted: one row per (organization, source, handle), refreshed on every sighting."""

    __table_args__ = (
        UniqueConstraint("organization_id", "source", "handle"),
        # The author list by followers reads this index in order instead of sorting.
        Index("ix_author_org_followers", "organization_id", "followers", "id"),
    )

    source: str = Field(max_length=16)
    handle: str = Field(max_length=200)
    followers: int = 0
    verified: bool = False
    kind: str = Field(default="user", max_length=8)
    updated_at: datetime = at_field(default_now=True)


class Mention(OrganizationRow, table=True):
    """One public post or complaint as received; `text` is kept exactly as sent."""

    __table_args__ = (
        UniqueConstraint("organization_id", "source", "external_id"),
        Index("ix_mention_org_posted", "organization_id", "posted_at", "id"),
        Index("ix_mention_org_ingested", "organization_id", "ingested_at"),
        # An author's mentions of a window (a ranking's exact figures); serves the key too.
        Index("ix_mention_author_posted", "author_id", "posted_at"),
        # Text search: every two-character piece of the text (`text_bigrams`, migration 0010).
        gin_index("ix_mention_text_bigrams", sql("text_bigrams(text)")),
    )

    source: str = Field(max_length=16)
    external_id: str = Field(max_length=200)
    text: str
    content_hash: str = Field(max_length=64, index=True)
    url: str | None = Field(default=None, max_length=2000)
    posted_at: datetime = at_field()
    author_id: uuid.UUID | None = Field(default=None, foreign_key="author.id")
    reposts: int = 0
    comments: int = 0
    likes: int = 0
    views: int = 0
    repost_of: str | None = Field(default=None, max_length=200)
    ingested_at: datetime = at_field(default_now=True)
    # The drill that played it (a `drill` row's id, not a reference: ingest owns no drills).
    drill_id: uuid.UUID | None = None


class MentionFailure(SQLModel, table=True):
    """A mention not analysed yet that needs attention: why, how often tried, whether given up.

    Analysis writes the row when the mention alone breaks it (the error is the reason);
    ingest's reconciler writes it when it announces a mention again that was never analysed,
    and gives the mention up after its last try, saying why. A successful analysis deletes it.
    """

    __tablename__ = "mention_failure"

    mention_id: uuid.UUID = Field(primary_key=True, foreign_key="mention.id", ondelete="CASCADE")
    organization_id: uuid.UUID = org_field()
    tries: int = 0
    reason: str = Field(max_length=REASON_LIMIT)
    first_failed_at: datetime = at_field()
    last_failed_at: datetime = at_field()
    given_up_at: datetime | None = at_field(nullable=True)


class Complaint(OrganizationRow, table=True):
    """A complaint pushed by a partner desk: the mention it became, with private details apart.

    Contact data is stored only encrypted (with the data key) and masked.
    """

    mention_id: uuid.UUID = child_of("mention", unique=True)
    customer_ref: str = Field(max_length=200)
    order_id: str | None = Field(default=None, max_length=200)
    channel: str = Field(max_length=32)
    contacts_masked: dict[str, str] = Field(default_factory=dict, sa_type=JSONB)
    contacts_cipher: bytes | None = Field(default=None, sa_type=LargeBinary)
    created_at: datetime = at_field(default_now=True)


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to a request sent with an `Idempotency-Key`, replayed for retries."""

    __tablename__ = "idempotency_record"
    __table_args__ = (Index("ix_idempotency_record_expires", "expires_at"),)

    organization_id: uuid.UUID = Field(
        primary_key=True, foreign_key="organization.id", ondelete="CASCADE"
    )
    key: str = Field(primary_key=True, max_length=255)
    route: str = Field(max_length=100)
    request_hash: str = Field(max_length=64)
    status: str = Field(default="in_progress", max_length=16)
    response_status: int | None = None
    response_body: dict[str, Any] | None = Field(default=None, sa_type=JSONB, nullable=True)
    created_at: datetime = at_field(default_now=True)
    expires_at: datetime = at_field()
