"""Review commands: draft the report when an incident is resolved, edit it, complete it.

The computed sections come from `sections`; people write the root cause and the
improvement actions (seed 002 §三(三)1: 分析危机发生根源, 提出改进建议). A review cannot be
completed while either is empty, since a review without them teaches nothing. Completing it
freezes the figures and emits `review.completed` once.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import IncidentStatus
from libs.contracts.events import ImprovementItem, ReviewCompleted
from libs.contracts.messages import CommandResult
from libs.contracts.response import CompleteReview, ImprovementEntry, UpdateReview
from libs.database.tables import ImprovementAction, Incident, ReviewReport
from libs.messaging.worker import Outcome
from services.incidents import events, timeline
from services.incidents.review.sections import compute_sections, iso

DRAFT = "draft"
COMPLETE = "complete"
ACTION_OPEN = "open"

# Timeline kinds this module writes.
REVIEW_DRAFTED = "review_drafted"
REVIEW_UPDATED = "review_updated"
REVIEW_COMPLETED = "review_completed"

_REVIEWABLE = frozenset({IncidentStatus.RESOLVED.value, IncidentStatus.CLOSED.value})


@dataclass(frozen=True)
class ReviewDocument:
    """A review with its incident and improvement actions: what the exports render."""

    incident: Incident
    report: ReviewReport
    improvements: list[ImprovementAction]


async def draft_review(
    session: AsyncSession, incident_id: uuid.UUID, *, now: datetime
) -> ReviewReport:
    """Create or refresh the review of an incident; a completed review is left as it is.

    Called when the incident is resolved, and again on every edit, so the figures include
    what happened since (late follow-ups, statements published after resolution). Running it
    twice yields one report, whichever transaction gets there first.
    """
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise LookupError(f"incident {incident_id} not found")
    inserted = await session.exec(
        insert(ReviewReport)
        .values(
            id=uuid.uuid4(),
            organization_id=incident.organization_id,
            incident_id=incident.id,
            status=DRAFT,
            sections={},
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["incident_id"])
        .returning(col(ReviewReport.id))
    )
    created = inserted.first() is not None
    report = await _report(session, incident.id)
    if report.status == COMPLETE:
        return report
    report.sections = await compute_sections(session, incident, now=now)
    report.updated_at = now
    session.add(report)
    if created:
        timeline.record(session, incident, REVIEW_DRAFTED, "复盘报告草稿已自动生成", at=now)
    await session.flush()
    return report


async def update_review(session: AsyncSession, command: UpdateReview, *, now: datetime) -> Outcome:
    """Write the root cause and/or replace the improvement actions of a draft review."""
    incident = await _incident(session, command.organization_id, command.incident_id)
    if incident is None:
        return Outcome(result=_not_found(command.incident_id))
    existing = await _existing_report(session, incident.id)
    if existing is not None and existing.status == COMPLETE:
        return Outcome(
            result=CommandResult.failure(
                "Conflict",
                "the review is complete and can no longer be edited (status: complete)",
                field="incidentId",
            )
        )
    report = await draft_review(session, incident.id, now=now)
    changed: list[str] = []
    if command.root_cause is not None:
        report.root_cause = command.root_cause.strip() or None
        changed.append("根本原因")
    if command.improvements is not None:
        await _replace_improvements(session, incident, command.improvements, now=now)
        changed.append(f"改进措施{len(command.improvements)}项")
    report.updated_at = now
    session.add(report)
    if changed:
        timeline.record(
            session,
            incident,
            REVIEW_UPDATED,
            f"复盘报告已更新：{'、'.join(changed)}",
            at=now,
            actor=command.actor,
        )
    await session.flush()
    document = await _document(session, incident, report)
    return Outcome(result=CommandResult.success(**review_view(document)))


async def complete_review(
    session: AsyncSession, command: CompleteReview, *, now: datetime
) -> Outcome:
    """Mark the review complete, refusing while the root cause or improvements are empty."""
    incident = await _incident(session, command.organization_id, command.incident_id)
    if incident is None:
        return Outcome(result=_not_found(command.incident_id))
    existing = await _existing_report(session, incident.id)
    if existing is not None and existing.status == COMPLETE:
        document = await _document(session, incident, existing)
        return Outcome(result=CommandResult.success(**review_view(document)))
    if incident.status not in _REVIEWABLE:
        return Outcome(
            result=CommandResult.failure(
                "InvalidTransition",
                f"cannot complete the review of an incident that is {incident.status}; "
                "resolve it first",
                field="incidentId",
            )
        )
    report = await draft_review(session, incident.id, now=now)
    improvements = await _improvements(session, incident.id)
    if not (report.root_cause or "").strip():
        return Outcome(
            result=CommandResult.failure(
                "Invalid",
                "rootCause is empty: write the root cause before completing the review "
                f"(status: {report.status})",
                field="rootCause",
            )
        )
    if not improvements:
        return Outcome(
            result=CommandResult.failure(
                "Invalid",
                "improvements is empty: add at least one improvement action before completing "
                f"the review (status: {report.status})",
                field="improvements",
            )
        )
    report.status = COMPLETE
    report.completed_at = now
    report.completed_by = command.actor
    report.updated_at = now
    session.add(report)
    timeline.record(
        session, incident, REVIEW_COMPLETED, "复盘报告已完成", at=now, actor=command.actor
    )
    await session.flush()
    body = ReviewCompleted(
        review_id=report.id,
        incident_id=incident.id,
        completed_by=command.actor,
        root_cause=report.root_cause,
        improvements=[
            ImprovementItem(action=a.action, owner=a.owner, due_at=a.due_at) for a in improvements
        ],
        stages_missed=report.sections.get("timing", {}).get("missed", 0),
        tasks_missed=report.sections.get("tasks", {}).get("missed", 0),
    )
    message = await events.record(
        session, body, incident.organization_id, incident.id, key=str(report.id), at=now
    )
    document = ReviewDocument(incident, report, improvements)
    return Outcome(messages=[message], result=CommandResult.success(**review_view(document)))


async def load_review(
    session: AsyncSession, organization_id: uuid.UUID, incident_id: uuid.UUID
) -> ReviewDocument | None:
    """Return an organization's review of an incident for export, or None if there is none."""
    incident = await _incident(session, organization_id, incident_id)
    if incident is None:
        return None
    report = await _existing_report(session, incident.id)
    if report is None:
        return None
    return await _document(session, incident, report)


def review_view(document: ReviewDocument) -> dict[str, Any]:
    """Return the people's parts and the state of a review, as answered to commands."""
    report = document.report
    return {
        "id": str(report.id),
        "incident_id": str(report.incident_id),
        "status": report.status,
        "root_cause": report.root_cause,
        "improvements": [improvement_view(action) for action in document.improvements],
        "completed_at": iso(report.completed_at),
        "completed_by": report.completed_by,
        "updated_at": iso(report.updated_at),
    }


def improvement_view(action: ImprovementAction) -> dict[str, Any]:
    """Return one improvement action as JSON."""
    return {
        "id": str(action.id),
        "action": action.action,
        "owner": action.owner,
        "due_at": iso(action.due_at),
        "status": action.status,
    }


async def _replace_improvements(
    session: AsyncSession, incident: Incident, entries: list[ImprovementEntry], *, now: datetime
) -> None:
    """Make the incident's actions exactly `entries`, keeping rows whose text and owner match.

    Kept rows keep their id and status, so a recurrence that reopened one still points to it.
    """
    current = await _improvements(session, incident.id)
    remaining = {(a.action, a.owner): a for a in current}
    for position, entry in enumerate(entries):
        action, owner = entry.action.strip(), entry.owner.strip()
        kept = remaining.pop((action, owner), None)
        if kept is not None:
            kept.due_at = entry.due_at
            session.add(kept)
            continue
        session.add(
            ImprovementAction(
                organization_id=incident.organization_id,
                incident_id=incident.id,
                watchlist_id=incident.watchlist_id,
                action=action,
                owner=owner,
                status=ACTION_OPEN,
                due_at=entry.due_at,
                # Rows of one edit keep the order they were given in.
                created_at=now + timedelta(microseconds=position),
            )
        )
    for dropped in remaining.values():
        await session.delete(dropped)
    await session.flush()


async def _document(
    session: AsyncSession, incident: Incident, report: ReviewReport
) -> ReviewDocument:
    return ReviewDocument(incident, report, await _improvements(session, incident.id))


async def _improvements(session: AsyncSession, incident_id: uuid.UUID) -> list[ImprovementAction]:
    result = await session.exec(
        select(ImprovementAction)
        .where(ImprovementAction.incident_id == incident_id)
        .order_by(col(ImprovementAction.created_at), col(ImprovementAction.id))
    )
    return list(result.all())


async def _report(session: AsyncSession, incident_id: uuid.UUID) -> ReviewReport:
    report = await _existing_report(session, incident_id)
    if report is None:
        raise LookupError(f"review of incident {incident_id} vanished after insert")
    return report


async def _existing_report(session: AsyncSession, incident_id: uuid.UUID) -> ReviewReport | None:
    result = await session.exec(
        select(ReviewReport)
        .where(ReviewReport.incident_id == incident_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return result.first()


async def _incident(
    session: AsyncSession, organization_id: uuid.UUID, incident_id: uuid.UUID
) -> Incident | None:
    result = await session.exec(
        select(Incident).where(
            Incident.id == incident_id, Incident.organization_id == organization_id
        )
    )
    return result.first()


def _not_found(incident_id: uuid.UUID) -> CommandResult:
    return CommandResult.failure(
        "NotFound", f"incident {incident_id} not found", field="incidentId"
    )
