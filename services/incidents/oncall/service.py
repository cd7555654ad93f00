"""On call: rotas per role, who is on duty, and paging them to an incident.

A rota is configuration (audited on its route): the people of a role take turns week by
week, handing off at a local time in the organization's time zone (`rotation`). A new
incident takes the monitor on duty onto its team and pages them; an overdue task pages the
person on duty in the role it escalated to (`services.incidents.tasks.deadlines`). A page is
a row keyed by its cause, so a cause handled twice pages once, and the `person.paged` event
(webhooks, chat @-mentions) goes out with the row. The paged person acknowledges it.
"""

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import PageReason, TeamRole
from libs.contracts.events import ChatHandle, PersonPaged
from libs.contracts.messages import CommandResult, ErrorCode
from libs.contracts.refusals import Refused, answering
from libs.contracts.response import (
    AcknowledgePage,
    IntegrationEventEmitted,
    SetRota,
    SetRotaOverride,
)
from libs.contracts.vocabulary import PAGE_REASON_LABELS, ROLE_LABELS
from libs.database.tables import Incident, IncidentMember, Page, Person, Rota, RotaOverride
from libs.on_duty import OnDuty, Override, Rotation, on_duty
from services.incidents import events, timeline
from services.incidents.answers import existing, refusal
from services.incidents.oncall import repository
from services.incidents.repository import belonging_to

PAGED = "paged"
PAGE_ACKNOWLEDGED = "page_acknowledged"
DEFAULT_ZONE = "Asia/Shanghai"


def zone_named(name: str) -> ZoneInfo:
    """Return the zone `name`; an unknown name (a stored typo) falls back to Shanghai's."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


async def _active(
    session: AsyncSession, organization_id: uuid.UUID, ids: list[uuid.UUID], field: str
) -> None:
    """Refuse, naming `field`, unless every one of `ids` is an active person of the org."""
    found = await repository.active_people(session, organization_id, ids)
    missing = [str(person) for person in ids if person not in found]
    if missing:
        message = f"no active person {', '.join(missing)} in the organization"
        raise Refused(refusal(ErrorCode.NOT_FOUND, message, field))


def _last_handoff_day(today: date, weekday: int) -> date:
    """The day of the last hand-off before today's, for a new rota given no start.

    The first person's turn starts at the first hand-off on or after `starts_on`; starting
    from today would leave the role uncovered until the next hand-off weekday, up to six days.
    On the hand-off weekday itself it goes back a week, so the hours before today's hand-off
    are covered too.
    """
    return today - timedelta(days=(today.weekday() - weekday) % 7 or 7)


@answering
async def set_rota(session: AsyncSession, command: SetRota, *, now: datetime) -> CommandResult:
    """Set the role's rotation; a rota set again replaces the turns and keeps its overrides."""
    org = command.organization_id
    if len(set(command.people)) != len(command.people):
        raise Refused(refusal(ErrorCode.INVALID, "people must not repeat a person", "people"))
    await _active(session, org, command.people, "people")
    today = now.astimezone(zone_named(await repository.time_zone(session, org))).date()
    row = await repository.rota(session, org, command.role.value, lock=True)
    if row is None:
        row = Rota(
            organization_id=org,
            role=command.role.value,
            people=[],
            handoff_weekday=command.handoff_weekday,
            handoff_time=command.handoff_time,
            starts_on=_last_handoff_day(today, command.handoff_weekday),
            updated_by=command.actor,
            created_at=now,
        )
    row.people = list(command.people)
    row.handoff_weekday = command.handoff_weekday
    row.handoff_time = command.handoff_time.replace(tzinfo=None)
    if command.starts_on is not None:
        row.starts_on = command.starts_on
    row.updated_by = command.actor
    row.updated_at = now
    session.add(row)
    await session.flush()
    return CommandResult.success(id=str(row.id))


@answering
async def set_override(
    session: AsyncSession, command: SetRotaOverride, *, now: datetime
) -> CommandResult:
    """Put someone on duty in the role instead of the rotation, from `startsAt` until `endsAt`."""
    org = command.organization_id
    if command.ends_at <= command.starts_at:
        raise Refused(refusal(ErrorCode.INVALID, "endsAt must be after startsAt", "endsAt"))
    rota = await repository.rota(session, org, command.role.value)
    if rota is None:
        message = f"there is no rota for {command.role.value} to override"
        raise Refused(refusal(ErrorCode.NOT_FOUND, message, "role"))
    await _active(session, org, [command.person_id], "personId")
    row = RotaOverride(
        organization_id=org,
        rota_id=rota.id,
        person_id=command.person_id,
        starts_at=command.starts_at,
        ends_at=command.ends_at,
        reason=(command.reason or "").strip() or None,
        created_by=command.actor,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return CommandResult.success(id=str(row.id))


async def who_is_on_duty(
    session: AsyncSession, organization_id: uuid.UUID, role: TeamRole, at: datetime
) -> tuple[Person, OnDuty] | None:
    """Return the active person on duty in `role` at `at` and their shift; None for nobody."""
    row = await repository.rota(session, organization_id, role.value)
    if row is None:
        return None
    rotation = Rotation(
        people=tuple(row.people),
        handoff_weekday=row.handoff_weekday,
        handoff_time=row.handoff_time,
        starts_on=row.starts_on,
        zone=zone_named(await repository.time_zone(session, organization_id)),
    )
    covering = [
        Override(o.person_id, o.starts_at, o.ends_at, o.created_at)
        for o in await repository.overrides(session, row.id, at)
    ]
    duty = on_duty(rotation, covering, at)
    if duty is None:
        return None
    people = await repository.active_people(session, organization_id, [duty.person_id])
    person = people.get(duty.person_id)
    return (person, duty) if person is not None else None


async def page(
    session: AsyncSession,
    incident: Incident,
    person: Person,
    role: TeamRole,
    reason: PageReason,
    *,
    key: str,
    now: datetime,
    task_id: uuid.UUID | None = None,
) -> IntegrationEventEmitted | None:
    """Page `person` to the incident for `key`'s cause; None when that cause already paged."""
    if await repository.page(session, incident.id, key) is not None:
        return None
    row = Page(
        **belonging_to(incident),
        person_id=person.id,
        task_id=task_id,
        role=role.value,
        reason=reason.value,
        key=key,
        paged_at=now,
    )
    session.add(row)
    await session.flush()
    timeline.record(
        session,
        incident,
        PAGED,
        f"已呼叫值班{ROLE_LABELS[role]}「{person.name}」（{PAGE_REASON_LABELS[reason]}），待确认",
        at=now,
        data={"page_id": str(row.id), "person_id": str(person.id), "role": role.value},
    )
    handles = [
        ChatHandle(platform=str(item.get("platform")), handle=str(item.get("handle")))
        for item in person.chat_handles
        if isinstance(item, dict) and item.get("platform") and item.get("handle")
    ]
    body = PersonPaged(
        page_id=row.id,
        incident_id=incident.id,
        person_id=person.id,
        person=person.name,
        role=role.value,
        reason=reason.value,
        task_id=task_id,
        paged_at=now,
        chat_handles=handles,
    )
    return await events.record(
        session, body, incident.organization_id, incident.id, key=str(row.id), at=now
    )


async def take_on_duty_monitor(
    session: AsyncSession, incident: Incident, *, now: datetime
) -> list[IntegrationEventEmitted]:
    """Put the monitor on duty on the new incident's team and page them; nobody, nothing."""
    found = await who_is_on_duty(session, incident.organization_id, TeamRole.MONITOR, now)
    if found is None:
        return []
    person, _ = found
    role = TeamRole.MONITOR
    if await repository.member(session, incident.id, role.value, person.id) is None:
        session.add(
            IncidentMember(
                **belonging_to(incident),
                role=role.value,
                person=person.name,
                person_id=person.id,
                assigned_by=timeline.SYSTEM_ACTOR,
                assigned_at=now,
            )
        )
        timeline.member_assigned(
            session,
            incident,
            role_label=ROLE_LABELS[role],
            role=role.value,
            person=person.name,
            actor=timeline.SYSTEM_ACTOR,
            at=now,
        )
    paged = await page(
        session, incident, person, role, PageReason.INCIDENT_OPENED, key="opened", now=now
    )
    return [paged] if paged is not None else []


@answering
async def acknowledge(
    session: AsyncSession, command: AcknowledgePage, *, now: datetime
) -> CommandResult:
    """Record that the page was taken; only the paged person may, when the key acts for one."""
    row = await existing(
        session, Page, command.organization_id, command.page_id, "page", "id", lock=True
    )
    person = command.acting_person_id
    if person is not None and person != row.person_id:
        message = "only the paged person may acknowledge the page"
        raise Refused(refusal(ErrorCode.FORBIDDEN, message, "id"))
    if row.acknowledged_at is None:
        row.acknowledged_at = now
        row.acknowledged_by = command.actor
        session.add(row)
        incident = await session.get(Incident, row.incident_id)
        paged = await session.get(Person, row.person_id)
        if incident is not None and paged is not None:
            timeline.record(
                session,
                incident,
                PAGE_ACKNOWLEDGED,
                f"「{paged.name}」已确认值班呼叫",
                at=now,
                actor=command.actor,
                data={"page_id": str(row.id), "person_id": str(row.person_id)},
            )
        await session.flush()
    return CommandResult.success(id=str(row.id))
