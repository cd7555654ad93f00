"""The reply library (问答库): filing mentions with the replies used.

Filing refuses a reply that advises deleting posts (seed 001: 删帖 is worse than no reply at
all). How cases are compared and found again, and what counts as deletion advice, lives in
`libs.reply_library`, which the gateway's search reads too.
"""

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import CommandResult, ErrorCode
from libs.contracts.outcome import Outcome
from libs.contracts.refusals import answering
from libs.contracts.response import FileReply
from libs.database.tables import Incident, Mention, ReplyCase
from libs.reply_library import deletion_advice, signature
from services.incidents import timeline
from services.incidents.answers import existing, refuse, shown

REPLY_FILED = "reply_filed"


def case_view(case: ReplyCase) -> dict[str, Any]:
    """Return a filed case as the command answer shows it."""
    return shown(
        case,
        "id",
        "category",
        "text",
        "reply",
        "incident_id",
        "mention_id",
        "created_by",
        "created_at",
    )


@answering
async def file_reply(session: AsyncSession, command: FileReply, *, now: datetime) -> Outcome:
    """File a mention (or a question's text) with the reply used; refuse deletion advice.

    With `mention_id`, the case's text is the stored mention's text and `text` is ignored.
    """
    advice = deletion_advice(command.reply)
    if advice is not None:
        message = f"reply advises deleting posts ({advice!r}); the reply library never does"
        return refuse(ErrorCode.INVALID, message, "reply")
    incident: Incident | None = None
    org = command.organization_id
    if command.incident_id is not None:
        incident = await existing(
            session, Incident, org, command.incident_id, "incident", "incidentId"
        )
    text = command.text
    if command.mention_id is not None:
        mention = await existing(session, Mention, org, command.mention_id, "mention", "mentionId")
        text = mention.text
    if text is None or not text.strip():
        message = "a case needs the mention's text: give mention_id or text"
        return refuse(ErrorCode.INVALID, message, "text")
    category = command.category.strip()
    if not category:
        return refuse(ErrorCode.INVALID, "category is blank", "category")
    case = ReplyCase(
        **command.model_dump(include={"organization_id", "incident_id", "mention_id", "reply"}),
        category=category,
        text=text,
        signature=signature(text),
        created_by=command.actor,
        created_at=now,
    )
    session.add(case)
    await session.flush()
    if incident is not None:
        timeline.record(
            session,
            incident,
            REPLY_FILED,
            f"问答库新增案例（{category}），已记录所用回复",
            at=now,
            actor=command.actor,
            data={"case_id": str(case.id), "category": category},
        )
    return Outcome.answer(CommandResult.success(**case_view(case)))
