"""What drafting, review and publication of statements share.

Loading a statement with its incident (both locked, incident first as everywhere), which
incidents take statement changes at all (not closed, merged or dismissed ones; a resolved
one still does, as a closing notice is common), and how a statement is answered.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Channel, IncidentStatus, ReviewStage, Tier
from libs.contracts.messages import CommandResult, ErrorCode, Message
from libs.contracts.outcome import Outcome
from libs.contracts.refusals import Refused
from libs.contracts.vocabulary import CHANNEL_LABELS, FINAL_STATUSES
from libs.database.tables import Incident, Statement
from services.incidents import timeline
from services.incidents.answers import existing, refusal, refuse
from services.incidents.statements import consistency
from services.incidents.statements import repository as statements_repository

LEVELS = {ReviewStage.LEVEL_1: 1, ReviewStage.LEVEL_2: 2, ReviewStage.LEVEL_3: 3}


class StatementEventKind(StrEnum):
    """Timeline event kinds written by statements and key facts."""

    DRAFTED = "statement_drafted"
    REVISED = "statement_revised"
    REVIEWED = "statement_reviewed"
    REJECTED = "statement_rejected"
    APPROVED = "statement_approved"
    PUBLISHED = "statement_published"
    KEY_FACTS_SET = "key_facts_set"
    LEGAL_REQUESTED = "statement_legal_requested"


def legal_required(incident: Incident, statement: Statement | None = None) -> bool:
    """Return whether a statement needs a legal approval: every statement of a red incident,
    and one it was asked for (by a person, or by the playbook of its tier when drafted)."""
    requested = statement is not None and statement.legal_requested
    return requested or Tier(incident.tier) == Tier.RED


def pending_stages(statement: Statement, incident: Incident) -> list[str]:
    """Return the stages still to approve in the current review round."""
    pending = [stage.value for stage, level in LEVELS.items() if statement.review_level < level]
    if legal_required(incident, statement) and not statement.legal_approved:
        pending.append(ReviewStage.LEGAL.value)
    return pending


def statement_view(statement: Statement, incident: Incident) -> dict[str, Any]:
    """Return a statement as the command answers show it."""
    return {
        "id": str(statement.id),
        "incident_id": str(statement.incident_id),
        "channel": statement.channel,
        "body": statement.body,
        "status": statement.status,
        "review_level": statement.review_level,
        "legal_required": legal_required(incident, statement),
        "legal_approved": statement.legal_approved,
        "pending_stages": pending_stages(statement, incident),
        "flags": list(statement.flags),
        "published_url": statement.published_url,
        "published_at": statement.published_at.isoformat() if statement.published_at else None,
        "created_by": statement.created_by,
    }


def answer(
    statement: Statement, incident: Incident, *, emit: Sequence[Message] = (), **extra: Any
) -> Outcome:
    """Answer a statement command with the statement as it now stands, emitting `emit`."""
    result = CommandResult.success(**statement_view(statement, incident), **extra)
    return Outcome.answer(result, emit)


def record_step(
    session: AsyncSession,
    incident: Incident,
    statement: Statement,
    kind: StatementEventKind,
    message: str,
    actor: str,
    at: datetime,
    **data: Any,
) -> None:
    """Write a step `actor` took on `statement` `at` on the incident's timeline."""
    facts = {"statement_id": str(statement.id), "channel": statement.channel, **data}
    timeline.record(session, incident, kind, message, actor=actor, at=at, data=facts)


def channel_label(statement: Statement) -> str:
    """Return the Chinese name of the statement's channel."""
    return CHANNEL_LABELS[Channel(statement.channel)]


def flags_refusal(flags: list[dict[str, Any]], action: str) -> Outcome:
    """Refuse `action` while the statement has consistency flags, naming them."""
    message = (
        f"cannot {action} while the statement has {len(flags)} unresolved consistency "
        f"flag(s): {consistency.describe(flags)}"
    )
    return refuse(ErrorCode.INVALID, message, "flags")


async def incident_for_statements(
    session: AsyncSession, organization_id: uuid.UUID, incident_id: uuid.UUID
) -> Incident:
    """Return the organization's incident, locked; raise `Refused` unless it takes changes."""
    incident = await existing(
        session, Incident, organization_id, incident_id, "incident", "incidentId", lock=True
    )
    status = IncidentStatus(incident.status)
    if status in FINAL_STATUSES:
        message = f"incident is {status.value}; it takes no statement changes"
        raise Refused(refusal(ErrorCode.CONFLICT, message, "incidentId"))
    return incident


async def load(
    session: AsyncSession, organization_id: uuid.UUID, statement_id: uuid.UUID
) -> tuple[Statement, Incident]:
    """Load the organization's statement and its incident, both locked; raise `Refused` else."""
    incident_id = await statements_repository.incident_id_of(session, organization_id, statement_id)
    if incident_id is None:
        message = f"statement {statement_id} does not exist"
        raise Refused(refusal(ErrorCode.NOT_FOUND, message, "statementId"))
    incident = await incident_for_statements(session, organization_id, incident_id)
    statement = await statements_repository.statement_for_update(session, statement_id)
    return statement, incident
