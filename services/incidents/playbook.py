"""Response playbooks: the team and the tasks an incident gets for its tier and crisis type.

The defaults follow the graded response of seed 002 §三(一)2 and the deadlines of DESIGN.md
(及时性原则), all measured from the moment the incident was detected:

- blue (关注): a duty monitor watches; the only task is to acknowledge within 30 minutes.
- yellow (轻度, 3-person group): monitor, analyst and spokesperson. Acknowledge (30 min),
  confirm the scope (2 h), a first statement on Weibo where the talk is (4 h) and a
  detailed reply as a WeChat announcement (24 h).
- orange (中度, 5-person task force): adds a commander and customer service, who collects
  feedback on Xiaohongshu (24 h); the commander owns the full plan (48 h, 复杂情况).
- red (严重, cross-department committee): commander, two monitors (24-hour watch, 专人24小时
  值班), analyst, spokesperson, legal and customer service. Urgent cases speak first and
  explain after (先发声明后补充说明), so legal clears the wording within 3 hours and the
  statement also goes to the official website within 4 hours; a reassurance video on
  Douyin follows within 24 hours.

A task kind means the same thing in every tier (same title, role, channel and deadline), so
raising the tier only adds the kinds the higher playbook has and the incident lacks; a
task is never duplicated and never moved. Organizations replace a tier's playbook, for every
crisis type ("*") or for one type, with `SetPlaybook`; a type-specific row beats "*", and
the defaults here apply when neither exists.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Channel, TaskStatus, TeamRole, Tier
from libs.contracts.messages import CommandResult, Message
from libs.contracts.response import PlaybookTask, SetPlaybook, TeamSlot
from libs.database.tables import Incident, ResponseTask
from libs.database.tables import Playbook as PlaybookRow

ANY_CRISIS_TYPE = "*"

ACKNOWLEDGE = "acknowledge"
CONFIRM_SCOPE = "confirm_scope"
FIRST_STATEMENT = "first_statement"
DETAILED_REPLY = "detailed_reply"
FULL_PLAN = "full_plan"
COLLECT_FEEDBACK = "collect_feedback"
LEGAL_REVIEW = "legal_review"
WEBSITE_NOTICE = "website_notice"
DOUYIN_VIDEO = "douyin_video"


@dataclass(frozen=True)
class TaskTemplate:
    """One task of a playbook: what, who owns it, where, and how long after detection."""

    kind: str
    title: str
    due_after: timedelta
    role: TeamRole
    channel: Channel | None = None


@dataclass(frozen=True)
class Slot:
    """A role on the team and how many people it needs."""

    role: TeamRole
    count: int = 1


@dataclass(frozen=True)
class PlannedTask:
    """A template placed on an incident's clock."""

    position: int
    kind: str
    title: str
    due_at: datetime
    role: TeamRole
    channel: Channel | None


@dataclass(frozen=True)
class Playbook:
    """The team and the ordered tasks one tier (and crisis type) calls for."""

    name: str
    team: tuple[Slot, ...]
    tasks: tuple[TaskTemplate, ...]

    def plan(self, detected_at: datetime) -> list[PlannedTask]:
        """Return the tasks with their deadlines for an incident detected at `detected_at`."""
        return [
            PlannedTask(
                position=position,
                kind=template.kind,
                title=template.title,
                due_at=detected_at + template.due_after,
                role=template.role,
                channel=template.channel,
            )
            for position, template in enumerate(self.tasks)
        ]


def _task(
    kind: str, title: str, minutes: int, role: TeamRole, channel: Channel | None = None
) -> TaskTemplate:
    return TaskTemplate(kind, title, timedelta(minutes=minutes), role, channel)


_HOUR = 60
_ACKNOWLEDGE = _task(ACKNOWLEDGE, "确认事件并启动监测", 30, TeamRole.MONITOR)
_CONFIRM_SCOPE = _task(CONFIRM_SCOPE, "确认影响范围", 2 * _HOUR, TeamRole.ANALYST)
_LEGAL_REVIEW = _task(LEGAL_REVIEW, "法务审核回应口径", 3 * _HOUR, TeamRole.LEGAL)
_FIRST_STATEMENT = _task(
    FIRST_STATEMENT, "发布首次公开声明", 4 * _HOUR, TeamRole.SPOKESPERSON, Channel.WEIBO
)
_WEBSITE_NOTICE = _task(
    WEBSITE_NOTICE, "官网发布事件公告", 4 * _HOUR, TeamRole.SPOKESPERSON, Channel.WEBSITE
)
_COLLECT_FEEDBACK = _task(
    COLLECT_FEEDBACK,
    "收集用户反馈",
    24 * _HOUR,
    TeamRole.CUSTOMER_SERVICE,
    Channel.XIAOHONGSHU,
)
_DETAILED_REPLY = _task(
    DETAILED_REPLY, "发布详细回应", 24 * _HOUR, TeamRole.SPOKESPERSON, Channel.WECHAT
)
_DOUYIN_VIDEO = _task(
    DOUYIN_VIDEO, "发布安抚视频", 24 * _HOUR, TeamRole.SPOKESPERSON, Channel.DOUYIN
)
_FULL_PLAN = _task(FULL_PLAN, "提交完整处置方案", 48 * _HOUR, TeamRole.COMMANDER)

DEFAULT_PLAYBOOKS: dict[Tier, Playbook] = {
    Tier.BLUE: Playbook(
        name="default:blue",
        team=(Slot(TeamRole.MONITOR),),
        tasks=(_ACKNOWLEDGE,),
    ),
    Tier.YELLOW: Playbook(
        name="default:yellow",
        team=(Slot(TeamRole.MONITOR), Slot(TeamRole.ANALYST), Slot(TeamRole.SPOKESPERSON)),
        tasks=(_ACKNOWLEDGE, _CONFIRM_SCOPE, _FIRST_STATEMENT, _DETAILED_REPLY),
    ),
    Tier.ORANGE: Playbook(
        name="default:orange",
        team=(
            Slot(TeamRole.COMMANDER),
            Slot(TeamRole.MONITOR),
            Slot(TeamRole.ANALYST),
            Slot(TeamRole.SPOKESPERSON),
            Slot(TeamRole.CUSTOMER_SERVICE),
        ),
        tasks=(
            _ACKNOWLEDGE,
            _CONFIRM_SCOPE,
            _FIRST_STATEMENT,
            _COLLECT_FEEDBACK,
            _DETAILED_REPLY,
            _FULL_PLAN,
        ),
    ),
    Tier.RED: Playbook(
        name="default:red",
        team=(
            Slot(TeamRole.COMMANDER),
            Slot(TeamRole.MONITOR, 2),
            Slot(TeamRole.ANALYST),
            Slot(TeamRole.SPOKESPERSON),
            Slot(TeamRole.LEGAL),
            Slot(TeamRole.CUSTOMER_SERVICE),
        ),
        tasks=(
            _ACKNOWLEDGE,
            _CONFIRM_SCOPE,
            _LEGAL_REVIEW,
            _FIRST_STATEMENT,
            _WEBSITE_NOTICE,
            _COLLECT_FEEDBACK,
            _DETAILED_REPLY,
            _DOUYIN_VIDEO,
            _FULL_PLAN,
        ),
    ),
}


def _from_row(row: PlaybookRow) -> Playbook:
    team = tuple(
        Slot(slot.role, slot.count) for slot in (TeamSlot.model_validate(t) for t in row.team)
    )
    tasks = tuple(
        _task(task.kind, task.title, task.due_after_minutes, task.role, task.channel)
        for task in (PlaybookTask.model_validate(t) for t in row.tasks)
    )
    return Playbook(name=f"{row.tier}:{row.crisis_type}", team=team, tasks=tasks)


async def playbook_for(
    session: AsyncSession, organization_id: uuid.UUID, tier: Tier, crisis_type: str | None
) -> Playbook:
    """Return the organization's playbook for `tier` and `crisis_type`, else the default."""
    wanted = [ANY_CRISIS_TYPE] if crisis_type is None else [crisis_type, ANY_CRISIS_TYPE]
    result = await session.exec(
        select(PlaybookRow).where(
            PlaybookRow.organization_id == organization_id,
            PlaybookRow.tier == tier.value,
            col(PlaybookRow.crisis_type).in_(wanted),
        )
    )
    rows = {row.crisis_type: row for row in result.all()}
    for key in wanted:
        if key in rows:
            return _from_row(rows[key])
    return DEFAULT_PLAYBOOKS[tier]


async def add_missing_tasks(
    session: AsyncSession, incident: Incident, playbook: Playbook, *, now: datetime
) -> list[ResponseTask]:
    """Give `incident` the playbook's tasks it does not have yet, due from `detected_at`.

    Kinds it already has are left as they are (done, open or overdue), so applying a higher
    tier's playbook never duplicates a task; new tasks go after the existing ones.
    """
    result = await session.exec(
        select(ResponseTask.kind, func.max(ResponseTask.position))
        .where(ResponseTask.incident_id == incident.id)
        .group_by(ResponseTask.kind)
    )
    existing = {kind: position for kind, position in result.all()}
    next_position = max(existing.values(), default=-1) + 1
    added: list[ResponseTask] = []
    for planned in playbook.plan(incident.detected_at):
        if planned.kind in existing:
            continue
        task = ResponseTask(
            organization_id=incident.organization_id,
            incident_id=incident.id,
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


def _invalid(message: str, field: str) -> tuple[CommandResult, list[Message]]:
    return CommandResult.failure("Invalid", message, field=field), []


async def set_playbook(
    session: AsyncSession, command: SetPlaybook, *, now: datetime
) -> tuple[CommandResult, list[Message]]:
    """Replace the organization's playbook for a tier and crisis type ("*" when none given).

    Refused when a role is listed twice, a task kind repeats, or a task is owned by a role
    the team does not have: every task needs someone on the team to do it. Incidents already
    open keep their tasks; the new playbook applies to incidents opened or raised later.
    """
    roles = [slot.role for slot in command.team]
    duplicate_roles = sorted({r.value for r in roles if roles.count(r) > 1})
    if duplicate_roles:
        return _invalid(f"team lists role {duplicate_roles[0]} more than once", "team")
    kinds = [task.kind for task in command.tasks]
    duplicate_kinds = sorted({k for k in kinds if kinds.count(k) > 1})
    if duplicate_kinds:
        return _invalid(f"tasks list kind {duplicate_kinds[0]} more than once", "tasks")
    for task in command.tasks:
        if task.role not in roles:
            return _invalid(
                f"task {task.kind} is owned by {task.role.value}, who is not on the team",
                "tasks",
            )
    crisis_type = command.crisis_type.value if command.crisis_type else ANY_CRISIS_TYPE
    team: list[dict[str, Any]] = [slot.model_dump(mode="json") for slot in command.team]
    tasks: list[dict[str, Any]] = [task.model_dump(mode="json") for task in command.tasks]
    upsert = insert(PlaybookRow).values(
        id=uuid.uuid4(),
        organization_id=command.organization_id,
        tier=command.tier.value,
        crisis_type=crisis_type,
        team=team,
        tasks=tasks,
        updated_at=now,
    )
    statement = upsert.on_conflict_do_update(
        index_elements=["organization_id", "tier", "crisis_type"],
        set_={"team": team, "tasks": tasks, "updated_at": now},
    ).returning(col(PlaybookRow.id))
    row_id = (await session.exec(statement)).scalar_one()
    return (
        CommandResult.success(
            id=str(row_id),
            tier=command.tier.value,
            crisis_type=crisis_type,
            team=team,
            tasks=tasks,
        ),
        [],
    )
