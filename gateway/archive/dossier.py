"""Gather an incident's dossier from the tables, read-only and within one organization.

Every part is ordered by time then id, so the same rows always give the same dossier, and
so the same digest. What is personal stays out: team members are named as the incident
names them, affected users not at all (their follow-ups by id), and audit entries say
which fields changed, not their values (a person's contacts are configuration too). Whoever
acted is named where the row knows the person behind the key.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.archive.calls import calls_of, follow_up_json, names_of, page_json
from libs.auth.keys import Principal
from libs.contracts.enums import Role, TeamRole
from libs.database.tables import (
    AuditEntry,
    EvidenceBundle,
    EvidenceItem,
    ImprovementAction,
    Incident,
    IncidentMember,
    IncidentPartner,
    KeyFact,
    ResponseTask,
    ReviewReport,
    Statement,
    StatementReview,
    TimelineEvent,
)
from libs.database.tables._types import OrganizationRow
from libs.documents.canonical import iso_utc, iso_utc_or_none
from libs.documents.review import ReviewDocument, to_json

FORMAT = "crisiswatch.archive/1"
Row = TypeVar("Row", bound=OrganizationRow)


@dataclass(frozen=True)
class Dossier:
    """An incident's dossier as JSON-ready data, with the rows its pages are drawn from."""

    incident: Incident
    body: dict[str, Any]
    review: ReviewDocument | None
    as_of: datetime


def could_archive(principal: Principal) -> bool:
    """Whether `principal` could take some archive: an admin key, or one acting for a person."""
    if principal.role is Role.ADMIN:
        return True
    return principal.role is Role.RESPONDER and principal.person_id is not None


def may_archive(principal: Principal, commanders: set[uuid.UUID]) -> bool:
    """Whether `principal` may take the archive: an admin key, or a key acting for the
    incident's commander (a dossier holds every statement and review of it)."""
    if principal.role is Role.ADMIN:
        return True
    return principal.role is Role.RESPONDER and principal.person_id in commanders


async def incident_of(
    session: AsyncSession, organization_id: uuid.UUID, incident_id: uuid.UUID
) -> Incident | None:
    """Return the organization's incident, or None for one it does not have."""
    found = await session.exec(
        select(Incident).where(
            col(Incident.id) == incident_id, col(Incident.organization_id) == organization_id
        )
    )
    return found.one_or_none()


async def commanders_of(session: AsyncSession, incident: Incident) -> set[uuid.UUID]:
    """Return the people who command `incident`."""
    found = await session.exec(
        select(IncidentMember.person_id).where(
            col(IncidentMember.incident_id) == incident.id,
            col(IncidentMember.organization_id) == incident.organization_id,
            col(IncidentMember.role) == TeamRole.COMMANDER.value,
        )
    )
    return {person for person in found.all() if person is not None}


async def review_of(session: AsyncSession, incident: Incident) -> ReviewDocument | None:
    """Return the incident's review with its improvements, or None before it is drafted."""
    report = (
        await session.exec(
            select(ReviewReport).where(
                col(ReviewReport.incident_id) == incident.id,
                col(ReviewReport.organization_id) == incident.organization_id,
            )
        )
    ).one_or_none()
    if report is None:
        return None
    actions = await _rows(
        session,
        ImprovementAction,
        incident,
        col(ImprovementAction.incident_id) == incident.id,
        col(ImprovementAction.created_at),
    )
    return ReviewDocument(incident, report, actions)


async def gather(session: AsyncSession, incident: Incident) -> Dossier:
    """Read everything the archive holds about `incident`."""
    events = await _rows(
        session,
        TimelineEvent,
        incident,
        col(TimelineEvent.incident_id) == incident.id,
        col(TimelineEvent.occurred_at),
    )
    statements = await _rows(
        session,
        Statement,
        incident,
        col(Statement.incident_id) == incident.id,
        col(Statement.created_at),
    )
    reviews = await _rows(
        session,
        StatementReview,
        incident,
        col(StatementReview.statement_id).in_([s.id for s in statements]),
        col(StatementReview.reviewed_at),
    )
    facts = await _rows(
        session, KeyFact, incident, col(KeyFact.incident_id) == incident.id, col(KeyFact.created_at)
    )
    tasks = await _rows(
        session,
        ResponseTask,
        incident,
        col(ResponseTask.incident_id) == incident.id,
        col(ResponseTask.position),
    )
    members = await _rows(
        session,
        IncidentMember,
        incident,
        col(IncidentMember.incident_id) == incident.id,
        col(IncidentMember.assigned_at),
    )
    partners = await _rows(
        session,
        IncidentPartner,
        incident,
        col(IncidentPartner.incident_id) == incident.id,
        col(IncidentPartner.id),
    )
    bundles = await _rows(
        session,
        EvidenceBundle,
        incident,
        col(EvidenceBundle.incident_id) == incident.id,
        col(EvidenceBundle.created_at),
    )
    items = await _rows(
        session,
        EvidenceItem,
        incident,
        col(EvidenceItem.bundle_id).in_([b.id for b in bundles]),
        col(EvidenceItem.position),
    )
    calls = await calls_of(session, incident)
    concerned = {
        incident.watchlist_id,
        *(m.person_id for m in members if m.person_id is not None),
        *(p.partner_id for p in partners),
        *calls.affected_users,
    }
    audit = await _audit(session, incident, concerned)
    names = await names_of(
        session,
        incident,
        [
            *(e.person_id for e in events),
            *(r.person_id for r in reviews),
            *(a.person_id for a in audit),
            *(p.person_id for p in calls.pages),
            *(f.owner_person_id for f in calls.follow_ups),
            *(f.escalated_to_person_id for f in calls.follow_ups),
        ],
    )
    review = await review_of(session, incident)

    by_statement: dict[uuid.UUID, list[StatementReview]] = {}
    for decision in reviews:
        by_statement.setdefault(decision.statement_id, []).append(decision)
    by_bundle: dict[uuid.UUID, list[EvidenceItem]] = {}
    for item in items:
        by_bundle.setdefault(item.bundle_id, []).append(item)

    moments = [
        incident.updated_at,
        *(e.occurred_at for e in events),
        *(s.updated_at for s in statements),
        *(r.reviewed_at for r in reviews),
        *(f.created_at for f in facts),
        *(t.completed_at or t.created_at for t in tasks),
        *(m.assigned_at for m in members),
        *(b.updated_at for b in bundles),
        *(a.occurred_at for a in audit),
        *(p.acknowledged_at or p.paged_at for p in calls.pages),
        *(f.completed_at for f in calls.follow_ups if f.completed_at is not None),
        *((review.report.updated_at,) if review else ()),
    ]
    as_of = max(moments)
    body: dict[str, Any] = {
        "format": FORMAT,
        "as_of": iso_utc(as_of),
        "incident": {
            "id": str(incident.id),
            "title": incident.title,
            "tier": incident.tier,
            "status": incident.status,
            "status_reason": incident.status_reason,
            "crisis_type": incident.crisis_type,
            "watchlist_id": str(incident.watchlist_id),
            "detected_at": iso_utc(incident.detected_at),
            "acknowledged_at": iso_utc_or_none(incident.acknowledged_at),
            "acknowledged_by": incident.acknowledged_by,
            "resolved_at": iso_utc_or_none(incident.resolved_at),
            "closed_at": iso_utc_or_none(incident.closed_at),
            "reopened_count": incident.reopened_count,
        },
        "timeline": [
            {
                "kind": e.kind,
                "message": e.message,
                "actor": e.actor,
                "person": names.get(e.person_id) if e.person_id else None,
                "data": e.data,
                "occurred_at": iso_utc(e.occurred_at),
            }
            for e in events
        ],
        "key_facts": [
            {"label": f.label, "value": f.value, "created_at": iso_utc(f.created_at)} for f in facts
        ],
        "statements": [_statement(s, by_statement.get(s.id, []), names) for s in statements],
        "tasks": [_task(t) for t in tasks],
        "people": [
            {
                "role": m.role,
                "person": m.person,
                "person_id": str(m.person_id) if m.person_id else None,
                "assigned_by": m.assigned_by,
                "assigned_at": iso_utc(m.assigned_at),
            }
            for m in members
        ],
        "pages": [page_json(p, names) for p in calls.pages],
        "follow_ups": [follow_up_json(f, names) for f in calls.follow_ups],
        "audit": [_audit_entry(a, names) for a in audit],
        "review": to_json(review) if review else None,
        "evidence": [_bundle(b, by_bundle.get(b.id, [])) for b in bundles],
    }
    return Dossier(incident, body, review, as_of)


async def _rows(
    session: AsyncSession,
    table: type[Row],
    incident: Incident,
    where: ColumnElement[bool],
    order: Any,
) -> list[Row]:
    """Return the organization's rows of `table` matching `where`, by `order` then id."""
    statement = (
        select(table)
        .where(where, col(table.organization_id) == incident.organization_id)
        .order_by(order, col(table.id))
    )
    return list((await session.exec(statement)).all())


async def _audit(
    session: AsyncSession, incident: Incident, concerned: set[uuid.UUID]
) -> list[AuditEntry]:
    """Return configuration changes to what the incident used, made while it was handled."""
    window = [col(AuditEntry.occurred_at) >= incident.detected_at]
    if incident.closed_at is not None:
        window.append(col(AuditEntry.occurred_at) <= incident.closed_at)
    found = await session.exec(
        select(AuditEntry)
        .where(
            col(AuditEntry.organization_id) == incident.organization_id,
            or_(
                col(AuditEntry.entity_id).in_(concerned), col(AuditEntry.entity_kind) == "playbook"
            ),
            *window,
        )
        .order_by(col(AuditEntry.occurred_at), col(AuditEntry.id))
    )
    return list(found.all())


def _statement(
    statement: Statement, reviews: list[StatementReview], names: dict[uuid.UUID, str]
) -> dict[str, Any]:
    return {
        "id": str(statement.id),
        "channel": statement.channel,
        "status": statement.status,
        "body": statement.body,
        "review_level": statement.review_level,
        "review_round": statement.review_round,
        "legal_requested": statement.legal_requested,
        "legal_approved": statement.legal_approved,
        "flags": statement.flags,
        "published_url": statement.published_url,
        "published_at": iso_utc_or_none(statement.published_at),
        "created_by": statement.created_by,
        "created_at": iso_utc(statement.created_at),
        "updated_at": iso_utc(statement.updated_at),
        "reviews": [
            {
                "stage": r.stage,
                "decision": r.decision,
                "reviewer": r.reviewer,
                "person": names.get(r.person_id) if r.person_id else None,
                "review_round": r.review_round,
                "note": r.note,
                "reviewed_at": iso_utc(r.reviewed_at),
            }
            for r in reviews
        ],
    }


def _task(task: ResponseTask) -> dict[str, Any]:
    return {
        "kind": task.kind,
        "title": task.title,
        "status": task.status,
        "role": task.role,
        "channel": task.channel,
        "due_at": iso_utc(task.due_at),
        "completed_at": iso_utc_or_none(task.completed_at),
        "completed_by": task.completed_by,
        "breached_at": iso_utc_or_none(task.breached_at),
        "escalated_to": task.escalated_to,
    }


def _audit_entry(entry: AuditEntry, names: dict[uuid.UUID, str]) -> dict[str, Any]:
    before, after = entry.before or {}, entry.after or {}
    changed = sorted(key for key in {*before, *after} if before.get(key) != after.get(key))
    return {
        "entity_kind": entry.entity_kind,
        "entity_id": str(entry.entity_id) if entry.entity_id else None,
        "action": entry.action,
        "actor": entry.actor,
        "person": names.get(entry.person_id) if entry.person_id else None,
        "changed": changed,
        "occurred_at": iso_utc(entry.occurred_at),
    }


def _bundle(bundle: EvidenceBundle, items: list[EvidenceItem]) -> dict[str, Any]:
    return {
        "id": str(bundle.id),
        "title": bundle.title,
        "purpose": bundle.purpose,
        "debunk_facts": list(bundle.debunk_facts),
        "created_by": bundle.created_by,
        "created_at": iso_utc(bundle.created_at),
        "mentions": [
            {
                "mention_id": str(item.mention_id),
                "source": item.source,
                "author": item.author_handle,
                "url": item.url,
                "posted_at": iso_utc(item.posted_at),
                "text": item.text,
                "screenshot_sha256": item.screenshot_sha256,
                "note": item.note,
                "added_at": iso_utc(item.added_at),
            }
            for item in items
        ],
    }
