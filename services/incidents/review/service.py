"""Review commands: draft the report when an incident is resolved, edit it, complete it.

The computed sections come from `sections`; people write the root cause and the
improvement actions (seed 002 §三(三)1: 分析危机发生根源, 提出改进建议). A review cannot be
completed while either is empty, since a review without them teaches nothing. Completing it
freezes the figures and emits `review.completed` once.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import IncidentStatus
from libs.contracts.events import ImprovementItem, ReviewCompleted
from libs.contracts.messages import CommandResult, ErrorCode, Message, not_found
from libs.contracts.outcome import Outcome
from libs.contracts.refusals import Refused, answering
from libs.contracts.response import CompleteReview, ImprovementEntry, UpdateReview
from libs.database.owned import owned
from libs.database.tables import ImprovementAction, Incident, ReviewReport
from libs.documents.review import ReviewDocument, review_view
from services.incidents import events, timeline
from services.incidents.answers import refuse
from services.incidents.repository import belonging_to
from services.incidents.review import repository as review_repository
from services.incidents.review import sections
from services.incidents.review.sections import iso
from services.incidents.review.volume import volume_section
from services.incidents.statements import repository as statements_repository

COMPLETE = "complete"
ACTION_OPEN = "open"

# Timeline kinds this module writes.
REVIEW_DRAFTED = "review_drafted"
REVIEW_UPDATED = "review_updated"
REVIEW_COMPLETED = "review_completed"

_REVIEWABLE = frozenset({IncidentStatus.RESOLVED.value, IncidentStatus.CLOSED.value})


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
    created = await review_repository.create_report_once(session, incident, now)
    report = await review_repository.report_for_update(session, incident.id)
    if report is None:
        raise LookupError(f"review of incident {incident_id} vanished after insert")
    if report.status == COMPLETE:
        return report
    report.sections = await compute_sections(session, incident, now=now)
    report.updated_at = now
    session.add(report)
    if created:
        timeline.record(session, incident, REVIEW_DRAFTED, "复盘报告草稿已自动生成", at=now)
    await session.flush()
    return report


async def compute_sections(
    session: AsyncSession, incident: Incident, *, now: datetime
) -> dict[str, Any]:
    """Return every computed section of `incident`'s review as of `now`."""
    tasks = await review_repository.tasks(session, incident.id)
    statements = await statements_repository.statements_of(session, incident.id)
    volume = await volume_section(session, incident, now=now)
    first_mention = await sections.first_mention_at(session, incident)
    timing = sections.timing_section(
        incident, tasks, statements, first_mention, peak=volume["peak"], now=now
    )
    return {
        "computed_at": iso(now),
        "timing": timing,
        "volume": volume,
        "channels": await sections.channels_section(session, incident, statements),
        "tasks": sections.tasks_section(tasks, now=now),
        "affected_users": await sections.affected_users_section(session, incident, now=now),
    }


async def _reviewable(
    session: AsyncSession, organization_id: uuid.UUID, incident_id: uuid.UUID
) -> tuple[Incident, ReviewReport | None]:
    """Return the organization's incident and its report (if any); raise `Refused` if none."""
    incident = await owned(session, Incident, organization_id, incident_id)
    if incident is None:
        raise Refused(not_found("incident", incident_id, "incidentId"))
    return incident, await review_repository.report_for_update(session, incident.id)


@answering
async def update_review(session: AsyncSession, command: UpdateReview, *, now: datetime) -> Outcome:
    """Write the root cause and/or replace the improvement actions of a draft review."""
    incident, existing = await _reviewable(session, command.organization_id, command.incident_id)
    if existing is not None and existing.status == COMPLETE:
        message = "the review is complete and can no longer be edited (status: complete)"
        return refuse(ErrorCode.CONFLICT, message, "incidentId")
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
        message = f"复盘报告已更新：{'、'.join(changed)}"
        timeline.record(session, incident, REVIEW_UPDATED, message, at=now, actor=command.actor)
    await session.flush()
    return _answer(await _document(session, incident, report))


@answering
async def complete_review(
    session: AsyncSession, command: CompleteReview, *, now: datetime
) -> Outcome:
    """Mark the review complete, refusing while the root cause or improvements are empty."""
    incident, existing = await _reviewable(session, command.organization_id, command.incident_id)
    if existing is not None and existing.status == COMPLETE:
        return _answer(await _document(session, incident, existing))
    if incident.status not in _REVIEWABLE:
        message = (
            f"cannot complete the review of an incident that is {incident.status}; resolve it first"
        )
        return refuse(ErrorCode.INVALID_TRANSITION, message, "incidentId")
    report = await draft_review(session, incident.id, now=now)
    improvements = await review_repository.improvements(session, incident.id)
    refusal = _incomplete(report, improvements)
    if refusal is not None:
        return refusal
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
    completed = await events.record(
        session, body, incident.organization_id, incident.id, key=str(report.id), at=now
    )
    return _answer(ReviewDocument(incident, report, improvements), [completed])


def _incomplete(report: ReviewReport, improvements: list[ImprovementAction]) -> Outcome | None:
    """Refuse completing a review whose root cause or improvements are empty."""
    if not (report.root_cause or "").strip():
        message = (
            "rootCause is empty: write the root cause before completing the review "
            f"(status: {report.status})"
        )
        return refuse(ErrorCode.INVALID, message, "rootCause")
    if not improvements:
        message = (
            "improvements is empty: add at least one improvement action before completing "
            f"the review (status: {report.status})"
        )
        return refuse(ErrorCode.INVALID, message, "improvements")
    return None


async def load_review(
    session: AsyncSession, organization_id: uuid.UUID, incident_id: uuid.UUID
) -> ReviewDocument | None:
    """Return an organization's review of an incident for export, or None if there is none."""
    incident = await owned(session, Incident, organization_id, incident_id)
    if incident is None:
        return None
    report = await review_repository.report_for_update(session, incident.id)
    if report is None:
        return None
    return await _document(session, incident, report)


def _answer(document: ReviewDocument, emit: Sequence[Message] = ()) -> Outcome:
    return Outcome.answer(CommandResult.success(**review_view(document)), emit)


async def _replace_improvements(
    session: AsyncSession, incident: Incident, entries: list[ImprovementEntry], *, now: datetime
) -> None:
    """Make the incident's actions exactly `entries`, keeping rows whose text and owner match.

    Kept rows keep their id and status, so a recurrence that reopened one still points to it.
    """
    current = await review_repository.improvements(session, incident.id)
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
                **belonging_to(incident),
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
    return ReviewDocument(
        incident, report, await review_repository.improvements(session, incident.id)
    )
