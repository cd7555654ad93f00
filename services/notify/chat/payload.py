"""Reading an event's payload for a card: the event's own fields tolerantly, its summary typed.

The payloads come from the incidents service and differ per type; every event about an
incident also carries the incident's summary (`incident`: title, status, tier, crisis type,
watchlist, latest reasons, open tasks with their deadlines), so a card needs no lookup of
its own. The event's own fields win over the summary. Fields a payload lacks are left out
of the card rather than shown as empty, so an event stored before the summary existed still
makes a card.

The summary is read as `IncidentSummary` (libs/contracts/response.py): the event model has
already validated it on the way in. The event's own fields are read key by key, and not
through the typed bodies of `libs.contracts.events` (`parse_body`): those require every
field and refuse unknown ones, so they would turn away what older producers sent (events
stored before a field existed, events without all of today's fields) and whatever a newer
producer adds, and they would coerce odd values ("12" minutes late) that a card leaves out.
"""

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import ValidationError

from libs.contracts.enums import EventType, TaskStatus, Tier
from libs.contracts.response import IncidentSummary, IncidentTaskSummary
from services.notify.chat.cards import (
    MAX_REASONS,
    TITLE_LIMIT,
    Deadline,
    clean,
    local_time,
)

Payload = Mapping[str, Any]
Label = TypeVar("Label", bound=StrEnum)

_SYSTEM_ACTOR = "system"
_QUOTED_NAME = re.compile(r"「([^」]{1,100})」")
_LATE = "已超时"


def summary_of(payload: Payload) -> IncidentSummary | None:
    """Return the incident summary the event carries, or None when it has none."""
    value = payload.get("incident")
    if not isinstance(value, Mapping):
        return None
    try:
        return IncidentSummary.model_validate(value)
    except ValidationError:
        return None


def given(value: object) -> bool:
    """Return whether a payload field holds something (not missing, null, "" or [])."""
    return value not in (None, "", [])


def own_or(payload: Payload, key: str, fallback: object) -> object:
    """Return the event's own `key` when it is given, else `fallback` (the summary's)."""
    value = payload.get(key)
    return value if given(value) else fallback


def text(value: object, limit: int) -> str | None:
    """Return `value` cleaned for a card, or None when it is no text worth a line."""
    if value is None or isinstance(value, bool | Mapping | list):
        return None
    return clean(value, limit) or None


def label(labels: Mapping[Label, str], kind: type[Label], value: object, limit: int) -> str | None:
    """Return the Chinese label of a known value, else the value cleaned; None for no text."""
    if not isinstance(value, str) or not value:
        return None
    try:
        known = labels.get(kind(value))
    except ValueError:
        known = None
    return known or clean(value, limit)


def actor(value: object) -> str | None:
    """Return who did it: 系统 for the system, else the actor as given."""
    return "系统" if value == _SYSTEM_ACTOR else text(value, 40)


def as_tier(value: object) -> Tier | None:
    """Return `value` as a tier, or None when it names none."""
    try:
        return Tier(value) if isinstance(value, str) else None
    except ValueError:
        return None


def parse_time(value: object) -> datetime | None:
    """Return an ISO 8601 time (or a datetime) as an aware datetime; naive means UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def time(value: object) -> str | None:
    """Return a payload time in Beijing time (MM-DD HH:MM), or None when it is none."""
    parsed = parse_time(value)
    return local_time(parsed) if parsed else None


def tier(type_: EventType, payload: Payload, summary: IncidentSummary | None) -> Tier | None:
    """Return the tier the card shows: a tier change's new tier, else the event's or summary's."""
    if type_ is EventType.INCIDENT_TIER_CHANGED and (to := as_tier(payload.get("to"))):
        return to
    summary_tier = summary.tier if summary else None
    for value in (payload.get("tier"), payload.get("incident_tier"), summary_tier):
        if found := as_tier(value):
            return found
    return None


def watchlist(type_: EventType, payload: Payload, summary: IncidentSummary | None) -> str | None:
    """Return the watchlist's name: given outright, or read from the incident's title.

    Incident titles name the watchlist in corner brackets, 「奶粉」轻度舆情危机; only
    `incident.opened` carries that title at the top level (elsewhere `title` is a task's).
    """
    for key in ("watchlist_name", "watchlist"):
        value = payload.get(key)
        if isinstance(value, Mapping):
            value = value.get("name")
        if name := text(value, 40):
            return name
    if summary is not None and (name := text(summary.watchlist.name, 40)):
        return name
    titles = [payload.get("incident_title"), summary.title if summary else None]
    if type_ is EventType.INCIDENT_OPENED:
        titles.insert(0, payload.get("title"))
    for title in titles:
        if isinstance(title, str) and (match := _QUOTED_NAME.search(title)):
            return clean(match.group(1), 40)
    return None


def reasons(payload: Payload, summary: IncidentSummary | None) -> list[str]:
    """Return up to three reasons: the event's own (`reasons`), else the summary's."""
    found = own_or(payload, "reasons", summary.reasons if summary else None)
    if isinstance(found, str):
        found = [found]
    if not isinstance(found, list):
        return []
    return [clean(reason) for reason in found if text(reason, 1)][:MAX_REASONS]


def summary_reasons(summary: IncidentSummary | None) -> list[str]:
    """Return up to three of the summary's reasons."""
    return reasons({}, summary)


def open_deadlines(
    payload: Payload, summary: IncidentSummary | None, occurred_at: datetime
) -> list[Deadline]:
    """Return the open tasks (`deadlines` or `tasks`, else the summary's), soonest first.

    A task is overdue when it says so (`overdue`, or status `overdue`) or when its deadline
    is before the event.
    """
    own = payload.get("deadlines") or payload.get("tasks")
    if not given(own):
        return summary_deadlines(summary.tasks if summary else [], occurred_at)
    rows: list[tuple[datetime, Deadline]] = []
    for task in own if isinstance(own, list) else []:
        if not isinstance(task, Mapping) or task.get("status") == TaskStatus.DONE:
            continue
        title = text(task.get("title"), TITLE_LIMIT)
        due_at = parse_time(task.get("due_at"))
        if not title or due_at is None:
            continue
        flagged = task.get("overdue") is True or task.get("status") == TaskStatus.OVERDUE
        rows.append((due_at, _deadline(title, due_at, flagged, occurred_at)))
    return _soonest_first(rows)


def summary_deadlines(
    tasks: Iterable[IncidentTaskSummary], occurred_at: datetime | None
) -> list[Deadline]:
    """Return the summary's open tasks, soonest first.

    Without `occurred_at` only the summary's `overdue` flags (as of the event) mark a task late.
    """
    rows = [
        (task.due_at, _deadline(title, task.due_at, task.overdue, occurred_at))
        for task in tasks
        if (title := text(task.title, TITLE_LIMIT))
    ]
    return _soonest_first(rows)


def _deadline(title: str, due_at: datetime, flagged: bool, at: datetime | None) -> Deadline:
    late = flagged or (at is not None and due_at < at)
    return Deadline(title, local_time(due_at), _LATE if late else None)


def _soonest_first(rows: list[tuple[datetime, Deadline]]) -> list[Deadline]:
    rows.sort(key=lambda row: row[0])
    return [deadline for _, deadline in rows]
