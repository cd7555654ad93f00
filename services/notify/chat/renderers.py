"""What a card says about each event type: its title, facts, reasons, deadlines and links.

The daily risk check (`risk_check.completed`) is about no incident: its card is a digest,
one line per finding, with the overdue tasks as its deadlines.

`build_card` reads the parts every card shares (tier, watchlist, incident link, the open
deadlines when the event names none of its own, and on incident updates the forecast's
one-line summary, 走势预测) and asks the event type's renderer for the rest. The payload
reading rules are in `payload.py`.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from libs.contracts.enums import (
    Channel,
    CrisisType,
    EventType,
    IncidentStatus,
    PageReason,
    Source,
    TeamRole,
    Tier,
    WatchlistKind,
)
from libs.contracts.response import IncidentSummary, IntegrationEventEmitted
from libs.contracts.vocabulary import (
    CHANNEL_LABELS,
    CRISIS_TYPE_LABELS,
    PAGE_REASON_LABELS,
    ROLE_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    TIER_COLOURS,
    WATCHLIST_KIND_LABELS,
)
from services.notify.chat import payload as read
from services.notify.chat.cards import (
    DRILL_LABEL,
    MAX_DEADLINES,
    MAX_REASONS,
    TITLE_LIMIT,
    Card,
    Deadline,
    clean,
    incident_link,
    link_target,
    local_time,
    warning,
)
from services.notify.chat.payload import Payload


@dataclass(frozen=True)
class EventView:
    """An event as its card sees it: own fields, incident summary, tier and watchlist."""

    payload: Payload
    summary: IncidentSummary | None
    tier: Tier | None
    watchlist: str | None

    @property
    def subject(self) -> str:
        """Return the watchlist in corner brackets, 「奶粉」, or nothing."""
        return f"「{self.watchlist}」" if self.watchlist else ""


@dataclass
class Parts:
    """What one event type's card says beyond the header every card shares."""

    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    deadlines: list[Deadline] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    mentions: list[tuple[str, str]] = field(default_factory=list)


def build_card(event: IntegrationEventEmitted, *, console_url: str | None = None) -> Card:
    """Return the card for `event`; `console_url` is the base of the console's incident pages."""
    payload: Payload = event.payload if isinstance(event.payload, Mapping) else {}
    summary = read.summary_of(payload)
    view = EventView(
        payload,
        summary,
        read.tier(event.type, payload, summary),
        read.watchlist(event.type, payload, summary),
    )
    incident_id = event.incident_id or read.text(payload.get("incident_id"), 64)
    parts = RENDERERS[event.type](view)
    if _is_drill(payload, summary):
        parts.title = f"{DRILL_LABEL}{parts.title}"
    header: list[tuple[str, str]] = []
    if view.tier is not None:
        header.append(("等级", _tier_line(event.type, payload, view.tier)))
    if view.watchlist is not None:
        header.append(("关注主题", view.watchlist))
    outlook = summary.forecast.summary if summary and summary.forecast else None
    if event.type in FORECAST_SHOWN and (line := read.text(outlook, 80)):
        header.append(("走势预测", line))
    deadlines = parts.deadlines or read.open_deadlines(payload, summary, event.occurred_at)
    return Card(
        event_type=event.type,
        title=parts.title,
        tier=view.tier,
        watchlist=view.watchlist,
        facts=(*header, *parts.facts),
        reasons=tuple(parts.reasons[:MAX_REASONS]),
        deadlines=tuple(deadlines[:MAX_DEADLINES]),
        link=incident_link(console_url, incident_id),
        extra_links=tuple(parts.links),
        occurred=local_time(event.occurred_at, with_year=True),
        mentions=tuple(parts.mentions),
    )


def _is_drill(payload: Payload, summary: IncidentSummary | None) -> bool:
    """Return whether the event is a drill's: marked in its data or in its incident summary."""
    return payload.get("drill") is True or (summary is not None and summary.drill)


def _tier_line(type_: EventType, payload: Payload, tier: Tier) -> str:
    previous = read.as_tier(payload.get("from"))
    if type_ is EventType.INCIDENT_TIER_CHANGED and previous and previous is not tier:
        return f"{TIER_COLOURS[previous]} → {warning(tier)}"
    return warning(tier)


def opened(view: EventView) -> Parts:
    """Say which watchlist reached which tier, with the incident, crisis type and score."""
    payload, summary = view.payload, view.summary
    colour = f"{TIER_COLOURS[view.tier]}预警" if view.tier else "风险预警"
    parts = Parts(f"{view.subject}触发{colour}" if view.watchlist else f"新事件：{colour}")
    own_title = read.own_or(payload, "title", summary.title if summary else None)
    if name := read.text(own_title, TITLE_LIMIT):
        parts.facts.append(("事件", name))
    crisis = read.own_or(payload, "crisis_type", summary.crisis_type if summary else None)
    crisis_label = read.label(CRISIS_TYPE_LABELS, CrisisType, crisis, 40)
    if crisis_label is not None:
        parts.facts.append(("危机类型", crisis_label))
    score = payload.get("score")
    if isinstance(score, int | float) and not isinstance(score, bool):
        parts.facts.append(
            ("风险分", f"{score:.0f}" if float(score).is_integer() else f"{score:.1f}")
        )
    if detected := read.time(payload.get("detected_at")):
        parts.facts.append(("发现时间", detected))
    parts.reasons = read.reasons(payload, summary)
    return parts


def tier_changed(view: EventView) -> Parts:
    """Say whether the tier rose or fell, who moved it and how many tasks it added."""
    payload, tier = view.payload, view.tier
    previous = read.as_tier(payload.get("from"))
    lowered = tier is not None and previous is not None and tier.rank < previous.rank
    verb = "降为" if lowered else "升至"
    colour = f"{TIER_COLOURS[tier]}预警" if tier else "新的预警等级"
    parts = Parts(f"{view.subject or '事件风险等级'}{verb}{colour}")
    if actor := read.actor(payload.get("actor")):
        parts.facts.append(("操作人", actor))
    added = payload.get("added_tasks")
    if isinstance(added, list) and added:
        parts.facts.append(("新增任务", f"{len(added)} 项"))
    parts.reasons = read.reasons(payload, view.summary)
    return parts


def status_changed(view: EventView) -> Parts:
    """Say where the incident moved from and to, by whom and why."""
    payload = view.payload
    after = read.label(STATUS_LABELS, IncidentStatus, payload.get("to"), 20)
    before = read.label(STATUS_LABELS, IncidentStatus, payload.get("from"), 20)
    subject = f"{view.subject}事件"
    parts = Parts(f"{subject}{after}" if after else f"{subject}状态变更")
    if before and after:
        parts.facts.append(("状态", f"{before} → {after}"))
    elif after:
        parts.facts.append(("状态", after))
    if actor := read.actor(payload.get("actor")):
        parts.facts.append(("操作人", actor))
    reason = payload.get("reason")
    parts.reasons = [clean(reason)] if read.text(reason, 1) else read.summary_reasons(view.summary)
    return parts


def task_overdue(view: EventView) -> Parts:
    """Say which task is late, by how much, whose it was and who has it now."""
    payload = view.payload
    task = read.text(payload.get("title"), TITLE_LIMIT)
    parts = Parts(f"{view.subject}任务超时：{task}" if task else f"{view.subject}任务超时")
    late = payload.get("minutes_late")
    late_text = (
        (f"已超时 {late} 分钟" if late > 0 else "已到截止时间仍未完成")
        if isinstance(late, int) and not isinstance(late, bool)
        else "已超时"
    )
    if task:
        parts.facts.append(("任务", task))
    if owner := read.label(ROLE_LABELS, TeamRole, payload.get("role"), 20):
        parts.facts.append(("负责角色", owner))
    parts.facts.append(("超时", late_text))
    escalated = payload.get("escalated_to")
    if isinstance(escalated, Mapping):
        role = read.label(ROLE_LABELS, TeamRole, escalated.get("role"), 20)
        person = read.text(escalated.get("person"), 40)
        if role:
            parts.facts.append(("升级至", f"{role}（{person or '尚未指定人员'}）"))
    if due := read.time(payload.get("due_at")):
        parts.deadlines.append(Deadline(task or "该任务", due, late_text))
    # What else is due, from the summary (whose `overdue` flags are as of the event); the
    # task this event is about leads.
    tasks = view.summary.tasks if view.summary else []
    others = [t for t in tasks if str(t.id) != payload.get("task_id")]
    parts.deadlines += read.summary_deadlines(others, None)
    parts.reasons = read.summary_reasons(view.summary)
    return parts


def statement_published(view: EventView) -> Parts:
    """Say on which channel the statement went out, when, and link to it."""
    payload = view.payload
    channel = read.label(CHANNEL_LABELS, Channel, payload.get("channel"), 20)
    parts = Parts(f"{view.subject}{channel or ''}声明已发布")
    if channel:
        parts.facts.append(("渠道", channel))
    if published := read.time(payload.get("published_at")):
        parts.facts.append(("发布时间", published))
    url = payload.get("url")
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        parts.links.append(("查看声明", link_target(url)))
    parts.reasons = read.summary_reasons(view.summary)
    return parts


def review_completed(view: EventView) -> Parts:
    """Say who completed the review, what was missed, the root cause and the improvements."""
    payload = view.payload
    parts = Parts(f"{view.subject}复盘完成")
    if actor := read.actor(payload.get("completed_by")):
        parts.facts.append(("完成人", actor))
    for key, label in (("stages_missed", "超时阶段"), ("tasks_missed", "未按时完成任务")):
        value = payload.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            parts.facts.append((label, f"{value} 项"))
    root_cause = payload.get("root_cause")
    parts.reasons = (
        [f"根本原因：{clean(root_cause)}"]
        if read.text(root_cause, 1)
        else read.summary_reasons(view.summary)
    )
    improvements = payload.get("improvements")
    for item in improvements if isinstance(improvements, list) else []:
        if not isinstance(item, Mapping) or not read.text(item.get("action"), 1):
            continue
        owner = read.text(item.get("owner"), 40)
        action = f"改进：{clean(item['action'], 80)}" + (f"（{owner}）" if owner else "")
        parts.deadlines.append(Deadline(action, read.time(item.get("due_at")) or "未定"))
    return parts


# How many items a digest line names before it says how many more there are.
DIGEST_ITEMS = 3


def _listed(items: list[str], total: int | None = None) -> str:
    """Return the first items joined, with how many more (of `total`, or of the list)."""
    shown = items[:DIGEST_ITEMS]
    more = (len(items) if total is None else total) - len(shown)
    return "；".join(shown) + (f" 等 {len(shown) + more} 项" if more > 0 else "") if shown else "无"


def _entries(payload: Payload, key: str) -> list[Mapping[str, Any]]:
    value = payload.get(key)
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _colour(value: object) -> str:
    tier = read.as_tier(value)
    return TIER_COLOURS[tier] if tier else "未定级"


def _market(item: Mapping[str, Any]) -> str:
    """Return 「（竞品）」 or 「（行业）」 for a watchlist of the market around the organization."""
    kind = item.get("kind")
    if kind in (None, WatchlistKind.OWN_BRAND.value, WatchlistKind.PRODUCT_LINE.value):
        return ""
    named = read.label(WATCHLIST_KIND_LABELS, WatchlistKind, kind, 8)
    return f"（{named}）" if named else ""


def risk_check(view: EventView) -> Parts:
    """Say what the daily check found: tiers, new spikes, negative stories, rising terms,
    open incidents and overdue tasks, each as one line, and the overdue tasks as deadlines."""
    payload = view.payload
    day = read.text(payload.get("day"), 10)
    parts = Parts(f"每日风险排查（{day}）" if day else "每日风险排查")
    if zone := read.text(payload.get("time_zone"), 40):
        parts.facts.append(("时区", zone))
    tiered = [
        f"{_colour(item.get('tier'))}「{read.text(item.get('name'), 40) or '未命名'}」"
        f"{_market(item)}"
        for item in _entries(payload, "watchlists")
    ]
    parts.facts.append(("预警中的关注主题", _listed(tiered)))
    spikes = []
    for item in _entries(payload, "spikes"):
        signals = _count(item.get("signals"))
        times = f" {signals} 次" if signals else ""
        name = read.text(item.get("name"), 40) or "未命名"
        spikes.append(f"「{name}」{_market(item)}{_colour(item.get('tier'))}预警{times}")
    parts.facts.append(("24 小时新增预警", _listed(spikes)))
    stories = [
        f"「{read.text(item.get('title'), 40) or '未命名'}」"
        f"负面 {_count(item.get('negative')) or 0}/{_count(item.get('mentions')) or 0} 条"
        for item in _entries(payload, "negative_stories")
    ]
    parts.facts.append(("负面热点", _listed(stories)))
    terms = [
        f"{read.text(item.get('term'), 20)} {_count(item.get('mentions')) or 0}"
        f"（前日 {_count(item.get('previous')) or 0}）"
        for item in _entries(payload, "rising_terms")
        if read.text(item.get("term"), 20)
    ]
    parts.facts.append(("上升热词", _listed(terms)))
    incidents = []
    for item in _entries(payload, "open_incidents"):
        status = read.label(STATUS_LABELS, IncidentStatus, item.get("status"), 20) or "处置中"
        title = read.text(item.get("title"), 40) or "未命名事件"
        incidents.append(f"{title}（{_colour(item.get('tier'))}·{status}）")
    parts.facts.append(
        ("进行中事件", _listed(incidents, _count(payload.get("open_incident_total"))))
    )
    overdue = _count(payload.get("overdue_task_total"))
    parts.facts.append(("超时任务", f"{overdue} 项" if overdue else "无"))
    for item in _entries(payload, "overdue_tasks"):
        task = read.text(item.get("title"), TITLE_LIMIT) or "任务"
        parts.deadlines.append(Deadline(task, read.time(item.get("due_at")) or "未知", "已超时"))
    return parts


def _accounts(payload: Payload) -> list[str]:
    accounts = []
    for item in _entries(payload, "accounts"):
        platform = read.label(SOURCE_LABELS, Source, item.get("platform"), 10)
        handle = read.text(item.get("handle"), 40)
        if handle:
            owner = read.text(item.get("owner"), 20)
            accounts.append(f"{platform or ''} @{handle}" + (f"（{owner}）" if owner else ""))
    return accounts


def quiet_period_started(view: EventView) -> Parts:
    """Name the accounts that must hold their scheduled and marketing posts, and by when."""
    parts = Parts(f"{view.subject}进入静默期：暂停官方账号定时发布")
    accounts = _accounts(view.payload)
    parts.facts.append(("暂停账号", _listed(accounts) if accounts else "尚未登记官方账号"))
    if started := read.time(view.payload.get("started_at")):
        parts.facts.append(("开始时间", started))
    parts.reasons = ["危机处置期间暂停营销与定时内容，避免激化舆情"]
    return parts


def quiet_period_ended(view: EventView) -> Parts:
    """Say the accounts may post again, and why the period ended."""
    payload = view.payload
    parts = Parts(f"{view.subject}静默期结束：官方账号可恢复发布")
    if status := read.label(STATUS_LABELS, IncidentStatus, payload.get("status"), 20):
        parts.facts.append(("事件状态", status))
    accounts = _accounts(payload)
    if accounts:
        parts.facts.append(("恢复账号", _listed(accounts)))
    if ended := read.time(payload.get("ended_at")):
        parts.facts.append(("结束时间", ended))
    return parts


def _strings(payload: Payload, key: str, limit: int) -> list[str]:
    value = payload.get(key)
    items = value if isinstance(value, list) else []
    return [text for item in items if (text := read.text(item, limit))]


def situation_report(view: EventView) -> Parts:
    """The report's executive line and overview, its needs, and what comes next."""
    payload = view.payload
    number = _count(payload.get("number"))
    parts = Parts(f"{view.subject}第 {number or '?'} 期态势报告")
    if status := read.text(payload.get("status"), 40):
        parts.facts.append(("态势", status))
    if overview := read.text(payload.get("overview"), 200):
        parts.facts.append(("概况", overview))
    parts.facts.append(("需要协调", _listed(_strings(payload, "needs", 80))))
    parts.facts.append(("下一步", _listed(_strings(payload, "next_steps", 80))))
    if sender := read.actor(payload.get("sent_by")):
        parts.facts.append(("发送人", sender))
    parts.reasons = _strings(payload, "conditions", 80)[:MAX_REASONS]
    return parts


def improvement_overdue(view: EventView) -> Parts:
    """Name the late improvement, its owner, and how late it is."""
    payload = view.payload
    parts = Parts(f"{view.subject}改进措施逾期")
    if action := read.text(payload.get("action"), 80):
        parts.facts.append(("改进措施", action))
    if owner := read.text(payload.get("owner"), 40):
        parts.facts.append(("负责人", owner))
    if due := read.time(payload.get("due_at")):
        late = _count(payload.get("days_late"))
        parts.deadlines.append(Deadline(action or "改进措施", due, f"已逾期 {late or 0} 天"))
    parts.reasons = ["复盘承诺的整改未按期完成，复发时将重新打开"]
    return parts


# What a chat handle may be: the platforms' user ids (WeCom userid, DingTalk userId, Feishu
# open_id) are letters, digits and a few marks; anything else would break the mention markup.
_HANDLE = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


def person_paged(view: EventView) -> Parts:
    """Say who is called to the incident, in which role and why, and @-mention them."""
    payload = view.payload
    person = read.text(payload.get("person"), 40) or "值班人员"
    role = read.label(ROLE_LABELS, TeamRole, payload.get("role"), 20)
    parts = Parts(f"{view.subject}值班呼叫：{person}" + (f"（{role}）" if role else ""))
    parts.facts.append(("呼叫对象", person))
    if role:
        parts.facts.append(("值班角色", role))
    if reason := read.label(PAGE_REASON_LABELS, PageReason, payload.get("reason"), 20):
        parts.facts.append(("原因", reason))
    if paged := read.time(payload.get("paged_at")):
        parts.facts.append(("呼叫时间", paged))
    parts.facts.append(("请确认", "在控制台确认接警（acknowledgePage）"))
    for item in _entries(payload, "chat_handles"):
        platform, handle = item.get("platform"), item.get("handle")
        if isinstance(platform, str) and isinstance(handle, str) and _HANDLE.fullmatch(handle):
            parts.mentions.append((platform, handle))
    parts.reasons = read.summary_reasons(view.summary)
    return parts


def follow_up_overdue(view: EventView) -> Parts:
    """Name the late follow-up visit, its owner, whom it was escalated to, and how late."""
    payload = view.payload
    task = "补偿" if payload.get("kind") == "compensation" else "回访"
    parts = Parts(f"{view.subject}{task}逾期")
    user = read.text(payload.get("user"), 40) or "受影响用户"
    visit = _count(payload.get("visit"))
    what = f"{user}的第{visit}次{task}" if visit else f"{user}的{task}"
    parts.facts.append((task, what))
    if owner := read.text(payload.get("owner"), 40):
        parts.facts.append(("负责人", owner))
    escalated = _strings(payload, "escalated_to", 40)
    parts.facts.append(("已升级至", _listed(escalated)))
    if due := read.time(payload.get("due_at")):
        late = _count(payload.get("hours_late"))
        parts.deadlines.append(Deadline(what, due, f"已逾期 {late or 0} 小时"))
    reminded = "已提醒事件指挥" if escalated else "事件尚未指定指挥，请尽快指派"
    parts.reasons = [f"受影响用户的{task}未按期完成，{reminded}"]
    return parts


def deadline_at_risk(view: EventView) -> Parts:
    """Say the crisis would peak before the first statement is due, and by how much."""
    payload = view.payload
    task = read.text(payload.get("title"), TITLE_LIMIT)
    parts = Parts(f"{view.subject}预计峰值早于{task or '声明'}截止")
    if peak := read.time(payload.get("peak_at")):
        parts.facts.append(("预计峰值", peak))
    ahead = _count(payload.get("minutes_before_deadline"))
    if ahead is not None:
        parts.facts.append(("早于截止", f"{ahead} 分钟"))
    for key, label in (("tier_in_1h", "1小时后等级"), ("tier_in_4h", "4小时后等级")):
        if key in payload:
            parts.facts.append((label, _colour(payload.get(key))))
    if due := read.time(payload.get("due_at")):
        parts.deadlines.append(Deadline(task or "首次声明", due, "有风险"))
    parts.reasons = ["按当前势头，舆情将在首次声明发布前达到峰值，建议提前发声"]
    return parts


# Incident updates whose cards add the forecast's line to their header.
FORECAST_SHOWN = frozenset(
    {
        EventType.INCIDENT_OPENED,
        EventType.INCIDENT_TIER_CHANGED,
        EventType.INCIDENT_STATUS_CHANGED,
        EventType.TASK_OVERDUE,
        EventType.FORECAST_DEADLINE_AT_RISK,
    }
)

RENDERERS: dict[EventType, Callable[[EventView], Parts]] = {
    EventType.INCIDENT_OPENED: opened,
    EventType.INCIDENT_TIER_CHANGED: tier_changed,
    EventType.INCIDENT_STATUS_CHANGED: status_changed,
    EventType.TASK_OVERDUE: task_overdue,
    EventType.STATEMENT_PUBLISHED: statement_published,
    EventType.REVIEW_COMPLETED: review_completed,
    EventType.RISK_CHECK_COMPLETED: risk_check,
    EventType.QUIET_PERIOD_STARTED: quiet_period_started,
    EventType.QUIET_PERIOD_ENDED: quiet_period_ended,
    EventType.SITUATION_REPORT_SENT: situation_report,
    EventType.IMPROVEMENT_OVERDUE: improvement_overdue,
    EventType.PERSON_PAGED: person_paged,
    EventType.FOLLOW_UP_OVERDUE: follow_up_overdue,
    EventType.FORECAST_DEADLINE_AT_RISK: deadline_at_risk,
}
