"""Reply-library search (问答库): past cases like a text or a stored mention, with their replies.

The search is the one the incidents service uses (`libs.reply_library`); a reply that
advises deleting posts is never returned, even one filed before the guard existed.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from typing import Self

import strawberry
from strawberry import relay

from gateway.context import Info
from gateway.schema.errors import GatewayError
from gateway.schema.filters import require_id
from gateway.schema.response_types import ReplyCase
from gateway.schema.types import Incident, Mention
from libs.reply_library import SimilarCase, deletion_advice, search

MAX_RESULTS = 20
# Longer texts add nothing to a bigram comparison of a post but cost time.
MAX_TEXT_LENGTH = 10_000


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
            case=ReplyCase(
                database_id=found.case_id,
                category=found.category,
                text=found.text,
                reply=found.reply,
                created_by=found.created_by,
                created_at=found.created_at,
            ),
            incident_id=found.incident_id,
            mention_id=found.mention_id,
        )

    @strawberry.field(description="The incident the case was filed for, if any.")
    async def incident(self, info: Info) -> Incident | None:
        if self.incident_id is None:
            return None
        row = await info.context.loaders.incidents.load(self.incident_id)
        return Incident.from_row(row) if row is not None else None

    @strawberry.field(description="The mention the case was filed from, if any.")
    async def mention(self, info: Info) -> Mention | None:
        if self.mention_id is None:
            return None
        row = await info.context.loaders.mentions.load(self.mention_id)
        return Mention.from_row(row) if row is not None else None


@strawberry.type
class ReplySearchQuery:
    @strawberry.field(
        description=(
            "Past cases of the reply library (问答库) most like `text`, or like the stored "
            "mention `mentionId`, best first, with the replies used. Never a reply that "
            "advises deleting posts."
        )
    )
    async def similar_replies(
        self,
        info: Info,
        text: str | None = None,
        mention_id: relay.GlobalID | None = None,
        category: str | None = None,
        first: int = 5,
    ) -> list[SimilarReply]:
        if first < 1 or first > MAX_RESULTS:
            raise GatewayError(f"`first` must be between 1 and {MAX_RESULTS}, got {first}.")
        if (text is None) == (mention_id is None):
            raise GatewayError("Give exactly one of `text` and `mentionId`.")
        if mention_id is not None:
            row_id = require_id(mention_id, "Mention", "mentionId")
            mention = await info.context.loaders.mentions.load(row_id)
            if mention is None:
                raise GatewayError("`mentionId` is not a mention of your organization.")
            compared = mention.text[:MAX_TEXT_LENGTH]
        else:
            compared = text or ""
            if not compared.strip():
                raise GatewayError("`text` is blank.")
            if len(compared) > MAX_TEXT_LENGTH:
                raise GatewayError(f"`text` is longer than {MAX_TEXT_LENGTH} characters.")
        organization_id = info.context.principal.organization_id
        async with info.context.sessions() as session:
            found = await search(session, organization_id, compared, first, category=category)
        # The search already drops deletion advice; checked again because this answer is
        # what a responder copies.
        return [
            SimilarReply.from_case(case) for case in found if deletion_advice(case.reply) is None
        ]
