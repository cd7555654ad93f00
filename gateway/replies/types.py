"""A reply case as clients read it, and a search result with the incident and mention behind it."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime
from typing import Self

import strawberry
from strawberry import relay

from gateway.core.context import Info
from gateway.core.rows import Stored, from_columns
from gateway.incidents.types import Incident
from gateway.mentions.types import Mention
from libs.database import tables
from libs.reply_library import SimilarCase


@strawberry.type(description="A case filed in the reply library (问答库).")
class ReplyCase(Stored):
    category: str
    text: str
    reply: str
    created_by: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: tables.ReplyCase | SimilarCase) -> Self:
        """Build from a reply_case row or a search result."""
        database_id = row.case_id if isinstance(row, SimilarCase) else row.id
        return from_columns(cls, row, database_id=database_id)


@strawberry.type(description="A past case like the one asked about, with the reply used.")
class SimilarReply:
    similarity: float = strawberry.field(
        description="The Jaccard index of the two texts' character bigrams, from 0 to 1."
    )
    case: ReplyCase
    incident_id: strawberry.Private[uuid.UUID | None]
    mention_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_case(cls, found: SimilarCase) -> Self:
        """Build from a search result."""
        return cls(
            similarity=found.similarity,
            case=ReplyCase.from_row(found),
            incident_id=found.incident_id,
            mention_id=found.mention_id,
        )

    @strawberry.field(description="The incident the case was filed for, if any.")
    async def incident(self, info: Info) -> Incident | None:
        return await Incident.load(info, self.incident_id)

    @strawberry.field(description="The mention the case was filed from, if any.")
    async def mention(self, info: Info) -> Mention | None:
        return await Mention.load(info, self.mention_id)


@strawberry.input(
    description=(
        "A case for the reply library (问答库): a stored mention or a question's text, its "
        "category and the reply used. Replies advising to delete posts are refused."
    )
)
class FileReplyInput:
    category: str
    reply: str
    incident_id: relay.GlobalID | None = None
    mention_id: relay.GlobalID | None = strawberry.field(
        default=None, description="With a mention, the case's text is the mention's text."
    )
    text: str | None = None
