"""Filing a case in the reply library; the incidents service refuses deletion advice."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from typing import Annotated

import strawberry
from strawberry import relay

from gateway.core.commands import answered_id, forbidden, not_found, read_back, run
from gateway.core.context import Info
from gateway.core.errors import (
    AnyRefusal,
    NotFound,
    or_why_not,
)
from gateway.core.owned import owned
from gateway.replies.types import FileReplyInput, ReplyCase
from libs.contracts.messages import CommandResult
from libs.contracts.response import FileReply
from libs.database import tables

ReplyCaseResult = Annotated[ReplyCase | AnyRefusal, or_why_not("ReplyCaseResult", "The filed case")]


async def _owned_id(
    info: Info, table: type[tables.Incident] | type[tables.Mention], given: relay.GlobalID | None
) -> uuid.UUID | NotFound | None:
    """Return the row id of an optional global id of the caller's, or NotFound."""
    if given is None:
        return None
    noun = table.__name__
    row = await owned(info, table, given, noun)
    return row.id if row is not None else not_found(noun.lower(), given)


@strawberry.type
class ReplyMutation:
    @strawberry.mutation(description="File a case in the reply library (问答库).")
    async def file_reply(self, info: Info, input: FileReplyInput) -> ReplyCaseResult:
        if (refusal := forbidden(info)) is not None:
            return refusal
        incident_id = await _owned_id(info, tables.Incident, input.incident_id)
        if isinstance(incident_id, NotFound):
            return incident_id
        mention_id = await _owned_id(info, tables.Mention, input.mention_id)
        if isinstance(mention_id, NotFound):
            return mention_id
        result = await run(
            info,
            FileReply,
            incident_id=incident_id,
            mention_id=mention_id,
            text=input.text,
            category=input.category,
            reply=input.reply,
        )
        if not isinstance(result, CommandResult):
            return result
        return await read_back(
            info, tables.ReplyCase, answered_id(result), ReplyCase.from_row, "Reply case"
        )
