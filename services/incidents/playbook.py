"""Response playbooks as data: which tasks an incident gets and when each is due.

Deadlines run from the moment the incident was detected (及时性原则): monitoring within
30 minutes, scope within 2 hours, a first public statement within 4 hours, a detailed reply
within 24 hours and a full plan within 48 hours. Kept as plain values so an organization can
later store its own playbook in the same shape.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

ACKNOWLEDGE = "acknowledge"
CONFIRM_SCOPE = "confirm_scope"
FIRST_STATEMENT = "first_statement"
DETAILED_REPLY = "detailed_reply"
FULL_PLAN = "full_plan"


@dataclass(frozen=True)
class TaskTemplate:
    """One task of a playbook: its kind, its title and how long after detection it is due."""

    kind: str
    title: str
    due_after: timedelta


@dataclass(frozen=True)
class PlannedTask:
    """A template placed on an incident's clock."""

    position: int
    kind: str
    title: str
    due_at: datetime


@dataclass(frozen=True)
class Playbook:
    """An ordered list of task templates applied to every new incident."""

    name: str
    tasks: tuple[TaskTemplate, ...]

    def plan(self, detected_at: datetime) -> list[PlannedTask]:
        """Return the tasks with their deadlines for an incident detected at `detected_at`."""
        return [
            PlannedTask(
                position=position,
                kind=template.kind,
                title=template.title,
                due_at=detected_at + template.due_after,
            )
            for position, template in enumerate(self.tasks)
        ]


DEFAULT_PLAYBOOK = Playbook(
    name="default",
    tasks=(
        TaskTemplate(ACKNOWLEDGE, "确认事件并启动监测", timedelta(minutes=30)),
        TaskTemplate(CONFIRM_SCOPE, "确认影响范围", timedelta(hours=2)),
        TaskTemplate(FIRST_STATEMENT, "发布首次公开声明", timedelta(hours=4)),
        TaskTemplate(DETAILED_REPLY, "发布详细回应", timedelta(hours=24)),
        TaskTemplate(FULL_PLAN, "提交完整处置方案", timedelta(hours=48)),
    ),
)
