"""Partners and their standing in an incident (第三方合作方管理).

The seeds ask that agencies, KOLs and distributors say nothing that contradicts the
organization during a crisis: the war room tells each one (`informed`) and agrees the
line with them (`aligned`, on the statement). Each change of standing goes on the
incident's timeline, so the review shows who was told when.
"""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import PartnerStatus
from libs.contracts.messages import CommandResult, ErrorCode
from libs.contracts.outcome import Outcome
from libs.contracts.refusals import answering
from libs.contracts.response import AddPartner, SetPartnerStatus, UpdatePartner
from libs.database.tables import Incident, IncidentPartner, Partner
from services.incidents import timeline
from services.incidents.answers import existing, refuse
from services.incidents.partners import repository

STATUS_CHANGED = "partner_status"
STATUS_LABELS = {
    PartnerStatus.TO_INFORM: "待通知",
    PartnerStatus.INFORMED: "已通知",
    PartnerStatus.ALIGNED: "已就声明口径达成一致",
}


def _clean(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


async def add_partner(session: AsyncSession, command: AddPartner, *, now: datetime) -> Outcome:
    """Register a partner; a name the organization already uses is a conflict."""
    name = command.name.strip()
    if not name:
        return refuse(ErrorCode.INVALID, "name must not be blank", "name")
    if await repository.name_taken(session, command.organization_id, name):
        return refuse(ErrorCode.CONFLICT, f"a partner named {name!r} already exists", "name")
    partner = Partner(
        organization_id=command.organization_id,
        name=name,
        kind=command.kind.value,
        contact=_clean(command.contact),
        note=_clean(command.note),
        created_at=now,
        updated_at=now,
    )
    session.add(partner)
    await session.flush()
    return Outcome.answer(CommandResult.success(id=str(partner.id)))


@answering
async def update_partner(
    session: AsyncSession, command: UpdatePartner, *, now: datetime
) -> CommandResult:
    """Change a partner's contact or note, or retire it; what is omitted stays."""
    partner = await existing(
        session, Partner, command.organization_id, command.partner_id, "partner", "partnerId",
        lock=True,
    )  # fmt: skip
    if command.contact is not None:
        partner.contact = _clean(command.contact)
    if command.note is not None:
        partner.note = _clean(command.note)
    if command.active is not None:
        partner.active = command.active
    partner.updated_at = now
    session.add(partner)
    await session.flush()
    return CommandResult.success(id=str(partner.id))


@answering
async def set_status(
    session: AsyncSession, command: SetPartnerStatus, *, now: datetime
) -> CommandResult:
    """Record where a partner stands in the incident, on its timeline too."""
    org = command.organization_id
    incident = await existing(session, Incident, org, command.incident_id, "incident", "incidentId")
    partner = await existing(session, Partner, org, command.partner_id, "partner", "partnerId")
    row = await repository.standing(session, incident.id, partner.id)
    if row is None:
        row = IncidentPartner(
            organization_id=org,
            incident_id=incident.id,
            partner_id=partner.id,
            status=command.status.value,
            updated_by=command.actor,
        )
    row.status = command.status.value
    if command.note is not None:
        row.note = _clean(command.note)
    # The first time each step was reached; aligned implies informed.
    if command.status in (PartnerStatus.INFORMED, PartnerStatus.ALIGNED) and not row.informed_at:
        row.informed_at = now
    if command.status is PartnerStatus.ALIGNED and not row.aligned_at:
        row.aligned_at = now
    row.updated_by = command.actor
    row.updated_at = now
    session.add(row)
    note = f"：{row.note}" if command.note and row.note else ""
    timeline.record(
        session,
        incident,
        STATUS_CHANGED,
        f"合作方「{partner.name}」{STATUS_LABELS[command.status]}{note}",
        at=now,
        actor=command.actor,
        data={"partner_id": str(partner.id), "status": command.status.value},
    )
    await session.flush()
    return CommandResult.success(id=str(row.id))
