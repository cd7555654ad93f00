"""The default playbooks, and what a playbook is: a team and tasks on the incident's clock.

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
raising the tier only adds the kinds the higher playbook has and the incident lacks.

A rumour (MISINFORMATION) is answered differently from a product fault: the claim is checked
and its evidence kept before anyone speaks (核实传言), the first statement is the debunk
(辟谣), and the posts passing it on are reported to the platforms (向平台举报不实信息). Its
default playbooks are the tier's, with those two tasks added.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from libs.contracts.enums import Channel, CrisisType, TeamRole, Tier
from libs.contracts.response import PlaybookTask, TeamSlot
from libs.contracts.teams import DEFAULT_TEAMS
from libs.database.tables import Playbook as PlaybookRow

ACKNOWLEDGE = "acknowledge"
CONFIRM_SCOPE = "confirm_scope"
FIRST_STATEMENT = "first_statement"
DETAILED_REPLY = "detailed_reply"
FULL_PLAN = "full_plan"
COLLECT_FEEDBACK = "collect_feedback"
LEGAL_REVIEW = "legal_review"
WEBSITE_NOTICE = "website_notice"
DOUYIN_VIDEO = "douyin_video"
VERIFY_CLAIM = "verify_claim"
PLATFORM_REPORT = "platform_report"


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
    legal_review: bool = False
    """Statements need legal approval at this tier too (red incidents' always do)."""

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

    @classmethod
    def from_row(cls, row: PlaybookRow) -> "Playbook":
        """Return an organization's stored playbook."""
        team = tuple(
            Slot(slot.role, slot.count) for slot in (TeamSlot.model_validate(t) for t in row.team)
        )
        tasks = tuple(
            _task(task.kind, task.title, task.due_after_minutes, task.role, task.channel)
            for task in (PlaybookTask.model_validate(t) for t in row.tasks)
        )
        return cls(
            name=f"{row.tier}:{row.crisis_type}",
            team=team,
            tasks=tasks,
            legal_review=row.legal_review,
        )


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
_VERIFY_CLAIM = _task(VERIFY_CLAIM, "核实传言并固定证据", 1 * _HOUR, TeamRole.ANALYST)
_PLATFORM_REPORT = _task(
    PLATFORM_REPORT, "向平台举报不实信息", 4 * _HOUR, TeamRole.MONITOR, Channel.WEIBO
)


def _team(tier: Tier) -> tuple[Slot, ...]:
    return tuple(Slot(role, count) for role, count in DEFAULT_TEAMS[tier])


DEFAULT_PLAYBOOKS: dict[Tier, Playbook] = {
    Tier.BLUE: Playbook(
        name="default:blue",
        team=_team(Tier.BLUE),
        tasks=(_ACKNOWLEDGE,),
    ),
    Tier.YELLOW: Playbook(
        name="default:yellow",
        team=_team(Tier.YELLOW),
        tasks=(_ACKNOWLEDGE, _CONFIRM_SCOPE, _FIRST_STATEMENT, _DETAILED_REPLY),
    ),
    Tier.ORANGE: Playbook(
        name="default:orange",
        team=_team(Tier.ORANGE),
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
        team=_team(Tier.RED),
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


def _against_rumour(tier: Tier) -> Playbook:
    """The tier's playbook for a rumour: verify the claim first, report the posts after."""
    base = DEFAULT_PLAYBOOKS[tier]
    first, *rest = base.tasks
    return Playbook(
        name=f"default:{tier.value}:{CrisisType.MISINFORMATION.value}",
        team=base.team,
        tasks=(first, _VERIFY_CLAIM, *rest, _PLATFORM_REPORT),
    )


DEFAULT_TYPE_PLAYBOOKS: dict[tuple[Tier, str], Playbook] = {
    (tier, CrisisType.MISINFORMATION.value): _against_rumour(tier)
    for tier in (Tier.YELLOW, Tier.ORANGE, Tier.RED)
}
"""Defaults for a crisis type where it calls for other work than the tier's own."""
