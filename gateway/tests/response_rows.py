"""Builders for the response and webhook rows the gateway reads; each adds and flushes.

The incidents and notify services own these tables; tests stand in for them.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.tests.rows import T0
from libs.contracts.enums import (
    Channel,
    ContactKind,
    EndpointKind,
    EventType,
    FollowUpKind,
    ReviewDecision,
    ReviewStage,
    StatementStatus,
    TaskStatus,
    TeamRole,
)
from libs.database.tables import (
    AffectedUser,
    FollowUpTask,
    ImprovementAction,
    Incident,
    IncidentMember,
    KeyFact,
    ReviewReport,
    Statement,
    StatementReview,
    WebhookDelivery,
    WebhookEndpoint,
)
from libs.privacy import mask_contact, mask_name

# What a stored secret looks like to the gateway: bytes it must never return or even load.
SEALED = b"sealed-secret-bytes"


async def member(
    session: AsyncSession, opened: Incident, role: TeamRole, person: str, at: datetime = T0
) -> IncidentMember:
    """Put `person` in `role` on the incident's team."""
    row = IncidentMember(
        organization_id=opened.organization_id,
        incident_id=opened.id,
        role=role.value,
        person=person,
        assigned_at=at,
    )
    session.add(row)
    await session.flush()
    return row


async def statement(
    session: AsyncSession,
    opened: Incident,
    channel: Channel = Channel.WEIBO,
    body: str = "关于禾岚奶粉的情况说明：已下架涉事批次并送检。",
    status: StatementStatus = StatementStatus.DRAFT,
    **fields: Any,
) -> Statement:
    """Store a statement for one channel."""
    row = Statement(
        organization_id=opened.organization_id,
        incident_id=opened.id,
        channel=channel.value,
        body=body,
        status=status.value,
        created_by=fields.pop("created_by", "api_key:drafter"),
        **fields,
    )
    session.add(row)
    await session.flush()
    return row


async def statement_review(
    session: AsyncSession,
    reviewed: Statement,
    stage: ReviewStage,
    decision: ReviewDecision = ReviewDecision.APPROVE,
    at: datetime = T0,
    note: str | None = None,
) -> StatementReview:
    """Record one review decision on a statement."""
    row = StatementReview(
        organization_id=reviewed.organization_id,
        statement_id=reviewed.id,
        stage=stage.value,
        decision=decision.value,
        reviewer="api_key:reviewer",
        note=note,
        reviewed_at=at,
    )
    session.add(row)
    await session.flush()
    return row


async def key_fact(session: AsyncSession, opened: Incident, label: str, value: str) -> KeyFact:
    """Store a key fact of the incident."""
    row = KeyFact(
        organization_id=opened.organization_id, incident_id=opened.id, label=label, value=value
    )
    session.add(row)
    await session.flush()
    return row


async def affected_user(
    session: AsyncSession,
    opened: Incident,
    name: str,
    contact_kind: ContactKind,
    contact: str,
    due_in: timedelta = timedelta(days=1),
) -> AffectedUser:
    """Store an affected user as the incidents service does (masked, contact sealed)."""
    row = AffectedUser(
        organization_id=opened.organization_id,
        incident_id=opened.id,
        name_masked=mask_name(name),
        contact_kind=contact_kind.value,
        contact_masked=mask_contact(contact_kind, contact),
        contact_cipher=SEALED,
        created_by="api_key:responder",
    )
    session.add(row)
    await session.flush()
    session.add(
        FollowUpTask(
            organization_id=opened.organization_id,
            affected_user_id=row.id,
            incident_id=opened.id,
            kind=FollowUpKind.FOLLOW_UP.value,
            status=TaskStatus.OPEN.value,
            due_at=opened.detected_at + due_in,
        )
    )
    await session.flush()
    return row


async def review(
    session: AsyncSession, opened: Incident, root_cause: str | None = None
) -> ReviewReport:
    """Store a draft review report with one improvement action."""
    row = ReviewReport(
        organization_id=opened.organization_id,
        incident_id=opened.id,
        sections={"timing": {"acknowledge": {"minutes": 12, "deadline_minutes": 30}}},
        root_cause=root_cause,
    )
    session.add(row)
    session.add(
        ImprovementAction(
            organization_id=opened.organization_id,
            incident_id=opened.id,
            watchlist_id=opened.watchlist_id,
            action="客服工单 15 分钟内升级",
            owner="客服主管",
        )
    )
    await session.flush()
    return row


async def endpoint(
    session: AsyncSession,
    org: uuid.UUID,
    name: str = "工单系统",
    url: str = "https://hooks.example.com/crisis?token=abcdefghijklmnop",
    kind: EndpointKind = EndpointKind.STANDARD,
    event_types: list[EventType] | None = None,
) -> WebhookEndpoint:
    """Store a webhook endpoint with a sealed secret."""
    row = WebhookEndpoint(
        organization_id=org,
        name=name,
        kind=kind.value,
        url=url,
        event_types=[e.value for e in event_types or [EventType.INCIDENT_OPENED]],
        secret_cipher=SEALED,
        previous_secret_cipher=SEALED,
    )
    session.add(row)
    await session.flush()
    return row


async def delivery(
    session: AsyncSession,
    target: WebhookEndpoint,
    created_at: datetime,
    status: str = "succeeded",
    **fields: Any,
) -> WebhookDelivery:
    """Store one logged delivery for `target`."""
    row = WebhookDelivery(
        organization_id=target.organization_id,
        endpoint_id=target.id,
        event_id=uuid.uuid4(),
        event_type=fields.pop("event_type", EventType.INCIDENT_OPENED.value),
        payload=fields.pop("payload", {"incident": {"title": "奶粉质量投诉集中爆发"}}),
        status=status,
        attempts=fields.pop("attempts", 1),
        created_at=created_at,
        updated_at=created_at,
        **fields,
    )
    session.add(row)
    await session.flush()
    return row
