"""What a chat alert says about an event, before any platform's markup.

A person glancing at a group chat should see at once what happened, how severe it is
(tier with its colour name), which watchlist, why, where to click, and what is due when.
The event payloads come from the incidents service and differ per type; every event about
an incident also carries the incident's summary (`incident`: title, status, tier, crisis
type, watchlist, latest reasons, open tasks with their deadlines — `IncidentSummary` in
`libs/contracts/response.py`), so a card needs no lookup of its own. The event's own
fields win over the summary. Fields a payload lacks are left out of the card rather than
shown as empty, so an event stored before the summary existed still makes a card.

Every piece of payload text goes through `mask_text` (no clear phone numbers, e-mail
addresses or ID card numbers in a chat group) and loses the characters chat markdown uses
for links and mentions, so a mention's text cannot add a link or @all to the alert.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from libs.contracts.enums import EventType, IncidentStatus, TeamRole, Tier
from libs.contracts.response import IntegrationEventEmitted
from libs.privacy import mask_text

# China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact and
# needs no time-zone database.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

TIER_COLOURS: dict[Tier, str] = {
    Tier.BLUE: "蓝色",
    Tier.YELLOW: "黄色",
    Tier.ORANGE: "橙色",
    Tier.RED: "红色",
}
TIER_SEVERITY: dict[Tier, str] = {
    Tier.BLUE: "关注",
    Tier.YELLOW: "轻度",
    Tier.ORANGE: "中度",
    Tier.RED: "严重",
}
TIER_MARKS: dict[Tier, str] = {
    Tier.BLUE: "🔵",
    Tier.YELLOW: "🟡",
    Tier.ORANGE: "🟠",
    Tier.RED: "🔴",
}

STATUS_LABELS: dict[IncidentStatus, str] = {
    IncidentStatus.DETECTED: "已发现",
    IncidentStatus.ACKNOWLEDGED: "已确认",
    IncidentStatus.ASSESSING: "评估中",
    IncidentStatus.RESPONDING: "处置中",
    IncidentStatus.RECOVERING: "恢复中",
    IncidentStatus.RESOLVED: "已解决",
    IncidentStatus.CLOSED: "已关闭",
    IncidentStatus.MERGED: "已合并",
    IncidentStatus.FALSE_ALARM: "误报",
}
ROLE_LABELS: dict[str, str] = {
    TeamRole.MONITOR: "舆情监测员",
    TeamRole.ANALYST: "数据分析师",
    TeamRole.CUSTOMER_SERVICE: "客服专员",
    TeamRole.SPOKESPERSON: "新闻发言人",
    TeamRole.LEGAL: "法务",
    TeamRole.COMMANDER: "总指挥",
}
CHANNEL_LABELS: dict[str, str] = {
    "wechat": "微信公众号",
    "weibo": "微博",
    "douyin": "抖音",
    "xiaohongshu": "小红书",
    "website": "官网",
}
CRISIS_LABELS: dict[str, str] = {
    "misinformation": "不实信息",
    "interaction_failure": "互动失当",
    "operational_error": "运营失误",
    "product_quality": "产品质量",
    "customer_service": "客户服务",
    "brand_image": "品牌形象",
    "data_leak": "网络安全/数据泄露",
}

MAX_REASONS = 3
MAX_DEADLINES = 6
_TEXT_LIMIT = 200
_TITLE_LIMIT = 60
_SYSTEM_ACTOR = "system"
_QUOTED_NAME = re.compile(r"「([^」]{1,100})」")
_WHITESPACE = re.compile(r"\s+")
# Characters chat markdown reads as links, mentions (<at>, <@user>) or HTML.
_MARKUP = str.maketrans({"<": "＜", ">": "＞", "[": "［", "]": "］", "`": "｀"})


@dataclass(frozen=True)
class Deadline:
    """One thing due: what, when (Beijing time, MM-DD HH:MM) and how it stands."""

    title: str
    due: str
    note: str | None = None


@dataclass(frozen=True)
class Card:
    """A platform-neutral alert: every text is already masked and free of markup."""

    event_type: EventType
    title: str
    tier: Tier | None
    watchlist: str | None
    facts: tuple[tuple[str, str], ...]
    reasons: tuple[str, ...]
    deadlines: tuple[Deadline, ...]
    link: str | None
    extra_links: tuple[tuple[str, str], ...]
    occurred: str

    @property
    def tier_text(self) -> str | None:
        """Return e.g. 红色预警（严重）, or None when the event says nothing of a tier."""
        if self.tier is None:
            return None
        return f"{TIER_COLOURS[self.tier]}预警（{TIER_SEVERITY[self.tier]}）"

    @property
    def headline(self) -> str:
        """Return the title with the tier's coloured mark in front, for plain-text titles."""
        return f"{TIER_MARKS[self.tier]} {self.title}" if self.tier else self.title


def build_card(event: IntegrationEventEmitted, *, console_url: str | None = None) -> Card:
    """Return the card for `event`; `console_url` is the base of the console's incident pages."""
    payload = event.payload if isinstance(event.payload, Mapping) else {}
    context = _context(payload)
    tier = _tier(event.type, payload, context)
    watchlist = _watchlist(event.type, payload, context)
    incident_id = event.incident_id or _text(payload.get("incident_id"), 64)
    builder = _BUILDERS[event.type]
    title, facts, reasons, deadlines, extra_links = builder(payload, context, tier, watchlist)
    header: list[tuple[str, str]] = []
    if tier is not None:
        header.append(("等级", _tier_line(event.type, payload, tier)))
    if watchlist is not None:
        header.append(("关注主题", watchlist))
    if not deadlines:
        deadlines = _open_tasks(payload, context, event.occurred_at)
    return Card(
        event_type=event.type,
        title=title,
        tier=tier,
        watchlist=watchlist,
        facts=(*header, *facts),
        reasons=tuple(reasons[:MAX_REASONS]),
        deadlines=tuple(deadlines[:MAX_DEADLINES]),
        link=incident_link(console_url, incident_id),
        extra_links=tuple(extra_links),
        occurred=local_time(event.occurred_at, with_year=True),
    )


def incident_link(console_url: str | None, incident_id: object) -> str | None:
    """Return the console page of the incident: `{incident_id}` filled in, or the id appended."""
    if not console_url or incident_id is None or not str(incident_id):
        return None
    identifier = str(incident_id)
    if "{incident_id}" in console_url:
        return console_url.replace("{incident_id}", identifier)
    return f"{console_url.rstrip('/')}/{identifier}"


def local_time(value: datetime, *, with_year: bool = False) -> str:
    """Return `value` in Beijing time, 03-01 16:00 (or 2025-03-01 16:00); naive means UTC."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M" if with_year else "%m-%d %H:%M")


def clean(value: object, limit: int = _TEXT_LIMIT) -> str:
    """Return payload text fit for a card: masked, on one line, markup-free, at most `limit`."""
    text = _WHITESPACE.sub(" ", mask_text(str(value))).strip().translate(_MARKUP)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- per event type -------------------------------------------------------------------------

# title, facts, reasons, deadlines, extra links
_Parts = tuple[str, list[tuple[str, str]], list[str], list[Deadline], list[tuple[str, str]]]


def _opened(
    payload: Mapping[str, Any], context: Mapping[str, Any], tier: Tier | None, watchlist: str | None
) -> _Parts:
    colour = f"{TIER_COLOURS[tier]}预警" if tier else "风险预警"
    title = f"「{watchlist}」触发{colour}" if watchlist else f"新事件：{colour}"
    facts: list[tuple[str, str]] = []
    if name := _text(_get(payload, context, "title"), _TITLE_LIMIT):
        facts.append(("事件", name))
    crisis = _get(payload, context, "crisis_type")
    if isinstance(crisis, str) and crisis:
        facts.append(("危机类型", CRISIS_LABELS.get(crisis, clean(crisis, 40))))
    score = payload.get("score")
    if isinstance(score, int | float) and not isinstance(score, bool):
        facts.append(("风险分", f"{score:.0f}" if float(score).is_integer() else f"{score:.1f}"))
    if detected := _time(payload.get("detected_at")):
        facts.append(("发现时间", detected))
    return title, facts, _reasons(payload, context), [], []


def _tier_changed(
    payload: Mapping[str, Any], context: Mapping[str, Any], tier: Tier | None, watchlist: str | None
) -> _Parts:
    previous = _as_tier(payload.get("from"))
    lowered = tier is not None and previous is not None and tier.rank < previous.rank
    verb = "降为" if lowered else "升至"
    colour = f"{TIER_COLOURS[tier]}预警" if tier else "新的预警等级"
    subject = f"「{watchlist}」" if watchlist else "事件风险等级"
    facts: list[tuple[str, str]] = []
    if actor := _actor(payload.get("actor")):
        facts.append(("操作人", actor))
    added = payload.get("added_tasks")
    if isinstance(added, list) and added:
        facts.append(("新增任务", f"{len(added)} 项"))
    return f"{subject}{verb}{colour}", facts, _reasons(payload, context), [], []


def _status_changed(
    payload: Mapping[str, Any], context: Mapping[str, Any], tier: Tier | None, watchlist: str | None
) -> _Parts:
    after = _status(payload.get("to"))
    before = _status(payload.get("from"))
    subject = f"「{watchlist}」事件" if watchlist else "事件"
    title = f"{subject}{after}" if after else f"{subject}状态变更"
    facts: list[tuple[str, str]] = []
    if before and after:
        facts.append(("状态", f"{before} → {after}"))
    elif after:
        facts.append(("状态", after))
    if actor := _actor(payload.get("actor")):
        facts.append(("操作人", actor))
    reasons = [clean(payload["reason"])] if _text(payload.get("reason"), 1) else []
    return title, facts, reasons or _reasons({}, context), [], []


def _task_overdue(
    payload: Mapping[str, Any], context: Mapping[str, Any], tier: Tier | None, watchlist: str | None
) -> _Parts:
    task = _text(payload.get("title"), _TITLE_LIMIT)
    subject = f"「{watchlist}」" if watchlist else ""
    title = f"{subject}任务超时：{task}" if task else f"{subject}任务超时"
    late = payload.get("minutes_late")
    late_text = (
        (f"已超时 {late} 分钟" if late > 0 else "已到截止时间仍未完成")
        if isinstance(late, int) and not isinstance(late, bool)
        else "已超时"
    )
    facts: list[tuple[str, str]] = []
    if task:
        facts.append(("任务", task))
    if owner := _role(payload.get("role")):
        facts.append(("负责角色", owner))
    facts.append(("超时", late_text))
    escalated = payload.get("escalated_to")
    if isinstance(escalated, Mapping):
        role = _role(escalated.get("role"))
        person = _text(escalated.get("person"), 40)
        if role:
            facts.append(("升级至", f"{role}（{person or '尚未指定人员'}）"))
    deadlines: list[Deadline] = []
    if due := _time(payload.get("due_at")):
        deadlines.append(Deadline(task or "该任务", due, late_text))
    # What else is due, from the summary (whose `overdue` flags are as of the event); the
    # task this event is about leads.
    others = [t for t in _task_list(context) if t.get("id") != payload.get("task_id")]
    deadlines += _open_tasks({}, {"tasks": others}, None)
    return title, facts, _reasons({}, context), deadlines, []


def _statement_published(
    payload: Mapping[str, Any], context: Mapping[str, Any], tier: Tier | None, watchlist: str | None
) -> _Parts:
    channel = _channel(payload.get("channel"))
    subject = f"「{watchlist}」" if watchlist else ""
    title = f"{subject}{channel or ''}声明已发布"
    facts: list[tuple[str, str]] = []
    if channel:
        facts.append(("渠道", channel))
    if published := _time(payload.get("published_at")):
        facts.append(("发布时间", published))
    links: list[tuple[str, str]] = []
    url = payload.get("url")
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        links.append(("查看声明", _link_target(url)))
    return title, facts, _reasons({}, context), [], links


def _review_completed(
    payload: Mapping[str, Any], context: Mapping[str, Any], tier: Tier | None, watchlist: str | None
) -> _Parts:
    subject = f"「{watchlist}」" if watchlist else ""
    facts: list[tuple[str, str]] = []
    if actor := _actor(payload.get("completed_by")):
        facts.append(("完成人", actor))
    for key, label in (("stages_missed", "超时阶段"), ("tasks_missed", "未按时完成任务")):
        value = payload.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            facts.append((label, f"{value} 项"))
    reasons = (
        [f"根本原因：{clean(payload['root_cause'])}"] if _text(payload.get("root_cause"), 1) else []
    )
    deadlines: list[Deadline] = []
    improvements = payload.get("improvements")
    for item in improvements if isinstance(improvements, list) else []:
        if not isinstance(item, Mapping) or not _text(item.get("action"), 1):
            continue
        owner = _text(item.get("owner"), 40)
        label = f"改进：{clean(item['action'], 80)}" + (f"（{owner}）" if owner else "")
        deadlines.append(Deadline(label, _time(item.get("due_at")) or "未定"))
    return f"{subject}复盘完成", facts, reasons or _reasons({}, context), deadlines, []


_BUILDERS = {
    EventType.INCIDENT_OPENED: _opened,
    EventType.INCIDENT_TIER_CHANGED: _tier_changed,
    EventType.INCIDENT_STATUS_CHANGED: _status_changed,
    EventType.TASK_OVERDUE: _task_overdue,
    EventType.STATEMENT_PUBLISHED: _statement_published,
    EventType.REVIEW_COMPLETED: _review_completed,
}


# --- payload reading ------------------------------------------------------------------------


def _context(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    context = payload.get("incident")
    return context if isinstance(context, Mapping) else {}


def _get(payload: Mapping[str, Any], context: Mapping[str, Any], key: str) -> Any:
    value = payload.get(key)
    return value if value not in (None, "", []) else context.get(key)


def _tier(type_: EventType, payload: Mapping[str, Any], context: Mapping[str, Any]) -> Tier | None:
    if type_ is EventType.INCIDENT_TIER_CHANGED and (tier := _as_tier(payload.get("to"))):
        return tier
    for value in (payload.get("tier"), payload.get("incident_tier"), context.get("tier")):
        if tier := _as_tier(value):
            return tier
    return None


def _tier_line(type_: EventType, payload: Mapping[str, Any], tier: Tier) -> str:
    text = f"{TIER_COLOURS[tier]}预警（{TIER_SEVERITY[tier]}）"
    previous = _as_tier(payload.get("from"))
    if type_ is EventType.INCIDENT_TIER_CHANGED and previous and previous is not tier:
        return f"{TIER_COLOURS[previous]} → {text}"
    return text


def _watchlist(
    type_: EventType, payload: Mapping[str, Any], context: Mapping[str, Any]
) -> str | None:
    """Return the watchlist's name: given outright, or read from the incident's title.

    Incident titles name the watchlist in corner brackets, 「奶粉」轻度舆情危机; only
    `incident.opened` carries that title at the top level (elsewhere `title` is a task's).
    """
    for source in (payload, context):
        for key in ("watchlist_name", "watchlist"):
            value = source.get(key)
            if isinstance(value, Mapping):
                value = value.get("name")
            if name := _text(value, 40):
                return name
    titles = [payload.get("incident_title"), context.get("title")]
    if type_ is EventType.INCIDENT_OPENED:
        titles.insert(0, payload.get("title"))
    for title in titles:
        if isinstance(title, str) and (match := _QUOTED_NAME.search(title)):
            return clean(match.group(1), 40)
    return None


def _reasons(payload: Mapping[str, Any], context: Mapping[str, Any]) -> list[str]:
    reasons = _get(payload, context, "reasons")
    if isinstance(reasons, str):
        reasons = [reasons]
    if not isinstance(reasons, list):
        return []
    return [clean(reason) for reason in reasons if _text(reason, 1)][:MAX_REASONS]


def _task_list(context: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    tasks = context.get("tasks")
    return [t for t in tasks if isinstance(t, Mapping)] if isinstance(tasks, list) else []


def _open_tasks(
    payload: Mapping[str, Any], context: Mapping[str, Any], occurred_at: datetime | None
) -> list[Deadline]:
    """Return the open tasks (`deadlines` or `tasks`, the summary's included), soonest first.

    A task is overdue when it says so (`overdue`, or status `overdue`) or, when `occurred_at`
    is given, when its deadline is before it.
    """
    tasks = _get(payload, context, "deadlines") or _get(payload, context, "tasks")
    if not isinstance(tasks, list):
        return []
    rows: list[tuple[datetime, Deadline]] = []
    for task in tasks:
        if not isinstance(task, Mapping) or task.get("status") == "done":
            continue
        title = _text(task.get("title"), _TITLE_LIMIT)
        due_at = _parse_time(task.get("due_at"))
        if not title or due_at is None:
            continue
        overdue = (
            task.get("overdue") is True
            or task.get("status") == "overdue"
            or (occurred_at is not None and due_at < occurred_at)
        )
        rows.append((due_at, Deadline(title, local_time(due_at), "已超时" if overdue else None)))
    rows.sort(key=lambda row: row[0])
    return [deadline for _, deadline in rows]


def _text(value: object, limit: int) -> str | None:
    if value is None or isinstance(value, bool | Mapping | list):
        return None
    text = clean(value, limit)
    return text or None


def _as_tier(value: object) -> Tier | None:
    try:
        return Tier(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _status(value: object) -> str | None:
    try:
        return STATUS_LABELS[IncidentStatus(value)] if isinstance(value, str) else None
    except ValueError:
        return _text(value, 20)


def _role(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return ROLE_LABELS.get(value) or clean(value, 20)


def _channel(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return CHANNEL_LABELS.get(value) or clean(value, 20)


def _actor(value: object) -> str | None:
    if value == _SYSTEM_ACTOR:
        return "系统"
    return _text(value, 40)


def _parse_time(value: object) -> datetime | None:
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


def _time(value: object) -> str | None:
    parsed = _parse_time(value)
    return local_time(parsed) if parsed else None


def _link_target(url: str) -> str:
    """Return a link target that carries no clear contact data and no markdown breakers."""
    return mask_text(url).replace(" ", "%20").replace(")", "%29").replace("(", "%28")
