"""Which playbook an incident gets, the tasks it adds, and organizations' own playbooks.

Organizations replace a tier's playbook, for every crisis type ("*") or for one type, with
`SetPlaybook`; a type-specific row beats "*", and the defaults (see `defaults`) apply when
neither exists. A task is never duplicated and never moved: raising the tier only adds the
kinds the incident lacks.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import TaskStatus, Tier
from libs.contracts.messages import CommandResult, ErrorCode
from libs.contracts.outcome import Outcome
from libs.contracts.response import SetPlaybook
from libs.database.tables import Incident, ResponseTask
from services.incidents.answers import refuse
from services.incidents.playbook import repository
from services.incidents.playbook.defaults import (
    DEFAULT_PLAYBOOKS,
    DEFAULT_TYPE_PLAYBOOKS,
    Playbook,
)
from services.incidents.repository import belonging_to

ANY_CRISIS_TYPE = "*"


async def playbook_for(
    session: AsyncSession, organization_id: uuid.UUID, tier: Tier, crisis_type: str | None
) -> Playbook:
    """Return the organization's playbook for `tier` and `crisis_type`, else the default."""
    wanted = [ANY_CRISIS_TYPE] if crisis_type is None else [crisis_type, ANY_CRISIS_TYPE]
    rows = await repository.stored_playbooks(session, organization_id, tier.value, wanted)
    for key in wanted:
        if key in rows:
            return Playbook.from_row(rows[key])
    return DEFAULT_TYPE_PLAYBOOKS.get((tier, crisis_type or ""), DEFAULT_PLAYBOOKS[tier])


async def add_missing_tasks(
    session: AsyncSession, incident: Incident, playbook: Playbook, *, now: datetime
) -> list[ResponseTask]:
    """Give `incident` the playbook's tasks it does not have yet, due from `detected_at`.

    Kinds it already has are left as they are (done, open or overdue), so applying a higher
    tier's playbook never duplicates a task; new tasks go after the existing ones.
    """
    existing = await repository.task_positions(session, incident.id)
    next_position = max(existing.values(), default=-1) + 1
    added: list[ResponseTask] = []
    for planned in playbook.plan(incident.detected_at):
        if planned.kind in existing:
            continue
        task = ResponseTask(
            **belonging_to(incident),
            kind=planned.kind,
            title=planned.title,
            position=next_position,
            due_at=planned.due_at,
            status=TaskStatus.OPEN.value,
            role=planned.role.value,
            channel=planned.channel.value if planned.channel else None,
            created_at=now,
        )
        next_position += 1
        session.add(task)
        added.append(task)
    return added


def _inconsistency(command: SetPlaybook) -> Outcome | None:
    """Refuse a role listed twice, a repeated task kind, or a task no one on the team owns."""
    roles = [slot.role for slot in command.team]
    duplicate_roles = sorted({r.value for r in roles if roles.count(r) > 1})
    if duplicate_roles:
        message = f"team lists role {duplicate_roles[0]} more than once"
        return refuse(ErrorCode.INVALID, message, "team")
    kinds = [task.kind for task in command.tasks]
    duplicate_kinds = sorted({k for k in kinds if kinds.count(k) > 1})
    if duplicate_kinds:
        message = f"tasks list kind {duplicate_kinds[0]} more than once"
        return refuse(ErrorCode.INVALID, message, "tasks")
    for task in command.tasks:
        if task.role not in roles:
            message = f"task {task.kind} is owned by {task.role.value}, who is not on the team"
            return refuse(ErrorCode.INVALID, message, "tasks")
    return None


async def set_playbook(session: AsyncSession, command: SetPlaybook, *, now: datetime) -> Outcome:
    """Replace the organization's playbook for a tier and crisis type ("*" when none given).

    Every task needs someone on the team to do it. Incidents already open keep their tasks;
    the new playbook applies to incidents opened or raised later.
    """
    refusal = _inconsistency(command)
    if refusal is not None:
        return refusal
    crisis_type = command.crisis_type.value if command.crisis_type else ANY_CRISIS_TYPE
    team: list[dict[str, Any]] = [slot.model_dump(mode="json") for slot in command.team]
    tasks: list[dict[str, Any]] = [task.model_dump(mode="json") for task in command.tasks]
    legal_review = bool(command.legal_review)
    row_id = await repository.save_playbook(
        session,
        command.organization_id,
        command.tier.value,
        crisis_type,
        team,
        tasks,
        now,
        legal_review=legal_review,
    )
    return Outcome.answer(
        CommandResult.success(
            id=str(row_id),
            tier=command.tier.value,
            crisis_type=crisis_type,
            team=team,
            tasks=tasks,
            legal_review=legal_review,
        )
    )
