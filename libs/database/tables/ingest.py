"""Authors and mentions. Written only by the ingest service."""

import uuid
from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from libs.database.tables._types import at_field, id_field, org_field


class Author(SQLModel, table=True):
    """Who posted: one row per (organization, source, handle), refreshed on every sighting."""

    __table_args__ = (UniqueConstraint("organization_id", "source", "handle"),)

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = org_field()
    source: str = Field(max_length=16)
    handle: str = Field(max_length=200)
    followers: int = 0
    verified: bool = False
    kind: str = Field(default="user", max_length=8)
    updated_at: datetime = at_field(default_now=True)


class Mention(SQLModel, table=True):
    """One public post or complaint as received; `text` is kept exactly as sent."""

    __table_args__ = (
        UniqueConstraint("organization_id", "source", "external_id"),
        Index("ix_mention_org_posted", "organization_id", "posted_at", "id"),
        Index("ix_mention_org_ingested", "organization_id", "ingested_at"),
    )

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = org_field()
    source: str = Field(max_length=16)
    external_id: str = Field(max_length=200)
    text: str
    text_normalized: str
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
