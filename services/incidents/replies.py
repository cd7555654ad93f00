"""The reply library (问答库): filing mentions with the replies used.

Filing refuses a reply that advises deleting posts (seed 001: 删帖 is worse than no reply at
all). How cases are compared and found again, and what counts as deletion advice, lives in
`libs.reply_library`, which the gateway's search reads too; the names are re-exported here
for the service's callers.
"""

from datetime import datetime
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import CommandResult
from libs.contracts.outcome import Outcome
from libs.contracts.response import FileReply
from libs.database.tables import Incident, Mention, ReplyCase, TimelineEvent
from libs.reply_library import (
    NUM_HASHES,
    SimilarCase,
    deletion_advice,
    jaccard,
    search,
    shingles,
    signature,
    similarity_text,
)
from services.incidents import timeline

__all__ = [
    "NUM_HASHES",
    "SimilarCase",
    "case_view",
    "deletion_advice",
    "file_reply",
    "jaccard",
    "search",
    "shingles",
    "signature",
    "similarity_text",
]


# --- filing -----------------------------------------------------------------------------


def case_view(case: ReplyCase) -> dict[str, Any]:
    """Return a filed case as the command answer shows it."""
    return {
        "id": str(case.id),
        "category": case.category,
        "text": case.text,
        "reply": case.reply,
        "incident_id": str(case.incident_id) if case.incident_id else None,
        "mention_id": str(case.mention_id) if case.mention_id else None,
        "created_by": case.created_by,
        "created_at": case.created_at.isoformat(),
    }


async def file_reply(session: AsyncSession, command: FileReply, *, now: datetime) -> Outcome:
    """File a mention (or a question's text) with the reply used; refuse deletion advice.

    With `mention_id`, the case's text is the stored mention's text and `text` is ignored.
    """
    advice = deletion_advice(command.reply)
    if advice is not None:
        return Outcome.answer(
            CommandResult.failure(
                "Invalid",
                f"reply advises deleting posts ({advice!r}); the reply library never does",
                field="reply",
            )
        )
    incident: Incident | None = None
    if command.incident_id is not None:
        incident = (
            await session.exec(
                select(Incident).where(
                    Incident.id == command.incident_id,
                    Incident.organization_id == command.organization_id,
                )
            )
        ).first()
        if incident is None:
            return Outcome.answer(
                CommandResult.failure(
                    "NotFound",
                    f"incident {command.incident_id} does not exist",
                    field="incident_id",
                )
            )
    text = command.text
    if command.mention_id is not None:
        mention = (
            await session.exec(
                select(Mention).where(
                    Mention.id == command.mention_id,
                    Mention.organization_id == command.organization_id,
                )
            )
        ).first()
        if mention is None:
            return Outcome.answer(
                CommandResult.failure(
                    "NotFound", f"mention {command.mention_id} does not exist", field="mention_id"
                )
            )
        text = mention.text
    if text is None or not text.strip():
        return Outcome.answer(
            CommandResult.failure(
                "Invalid", "a case needs the mention's text: give mention_id or text", field="text"
            )
        )
    category = command.category.strip()
    if not category:
        return Outcome.answer(
            CommandResult.failure("Invalid", "category is blank", field="category")
        )
    case = ReplyCase(
        organization_id=command.organization_id,
        incident_id=command.incident_id,
        mention_id=command.mention_id,
        category=category,
        text=text,
        reply=command.reply,
        signature=signature(text),
        created_by=command.actor,
        created_at=now,
    )
    session.add(case)
    await session.flush()
    if incident is not None:
        filed = TimelineEvent(
            organization_id=incident.organization_id,
            incident_id=incident.id,
            kind="reply_filed",
            message=f"问答库新增案例（{category}），已记录所用回复",
            actor=command.actor,
            data={"case_id": str(case.id), "category": category},
            occurred_at=now,
        )
        session.add(filed)
        timeline.stage_notice(session, filed, incident)
    return Outcome.answer(CommandResult.success(**case_view(case)))
