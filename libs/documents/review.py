"""A review report (复盘) as JSON, or as one standalone HTML document with SVG charts.

The HTML is meant to be mailed, archived or printed: everything is inline (CSS and the
charts, drawn by pygal as SVG), it runs no script and loads nothing from the network, so it
reads the same in any browser years later. Times are shown in Beijing time; the JSON keeps
ISO 8601 in UTC as stored.
"""

import copy
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pygal
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from pygal.style import Style

from libs.contracts.enums import Channel
from libs.contracts.vocabulary import (
    CHANNEL_LABELS,
    CRISIS_TYPE_LABELS,
    PAGE_REASON_LABELS,
    REVIEW_STAGE_LABELS,
    ROLE_LABELS,
    SENTIMENT_LABELS,
    SOURCE_LABELS,
    STATEMENT_STATUS_LABELS,
    STATUS_LABELS,
    TIER_SEVERITY,
)
from libs.database.tables import ImprovementAction, Incident, ReviewReport
from libs.documents.canonical import BEIJING

FORMAT = "crisiswatch.review/1"
FONT = '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC", sans-serif'

OUTCOME_LABELS = {
    "on_time": "按时完成",
    "late": "逾期完成",
    "overdue": "逾期未完成",
    "open": "进行中",
}
PHASE_LABELS = {"before": "事发前24小时", "during": "事件期间", "after": "解决后24小时"}
REVIEW_STATUS_LABELS = {"draft": "草稿", "complete": "已完成"}
ACTION_STATUS_LABELS = {"open": "待完成", "done": "已完成"}
DECISION_LABELS = {"approve": "通过", "reject": "驳回"}
SENTIMENT_COLORS = {"positive": "#4CAF50", "neutral": "#9E9E9E", "negative": "#E53935"}
PHASE_COLORS = {"before": "#90A4AE", "during": "#E53935", "after": "#1E88E5"}


@dataclass(frozen=True)
class ReviewDocument:
    """A review with its incident and improvement actions: what the exports render."""

    incident: Incident
    report: ReviewReport
    improvements: list[ImprovementAction]


def iso(moment: datetime | None) -> str | None:
    """Return `moment` as ISO 8601 text, or None."""
    return moment.isoformat() if moment is not None else None


def review_view(document: ReviewDocument) -> dict[str, Any]:
    """Return the people's parts and the state of a review, as answered to commands."""
    report = document.report
    return {
        "id": str(report.id),
        "incident_id": str(report.incident_id),
        "status": report.status,
        "root_cause": report.root_cause,
        "improvements": [improvement_view(action) for action in document.improvements],
        "completed_at": iso(report.completed_at),
        "completed_by": report.completed_by,
        "updated_at": iso(report.updated_at),
    }


def improvement_view(action: ImprovementAction) -> dict[str, Any]:
    """Return one improvement action as JSON."""
    return {
        "id": str(action.id),
        "action": action.action,
        "owner": action.owner,
        "due_at": iso(action.due_at),
        "status": action.status,
    }


_TEMPLATES = Path(__file__).parent / "templates"
_environment = Environment(
    loader=FileSystemLoader(_TEMPLATES),
    autoescape=select_autoescape(["html", "j2"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def to_json(document: ReviewDocument) -> dict[str, Any]:
    """Return the review as a JSON-ready dict: incident, people's parts and sections."""
    incident = document.incident
    view = review_view(document)
    return {
        "format": FORMAT,
        "incident": {
            "id": str(incident.id),
            "title": incident.title,
            "tier": incident.tier,
            "status": incident.status,
            "crisis_type": incident.crisis_type,
            "detected_at": iso(incident.detected_at),
            "acknowledged_at": iso(incident.acknowledged_at),
            "resolved_at": iso(incident.resolved_at),
            "closed_at": iso(incident.closed_at),
        },
        "review": {
            "id": view["id"],
            "status": view["status"],
            "created_at": iso(document.report.created_at),
            "updated_at": view["updated_at"],
            "completed_at": view["completed_at"],
            "completed_by": view["completed_by"],
        },
        "root_cause": view["root_cause"],
        "improvements": view["improvements"],
        "sections": copy.deepcopy(document.report.sections),
    }


def to_html(document: ReviewDocument) -> str:
    """Return the review as a standalone HTML document with its charts as inline SVG."""
    return render_page("report.html.j2", **review_context(document))


def render_page(template: str, **context: Any) -> str:
    """Render one of the filed documents' templates, with the formatting helpers."""
    return _environment.get_template(template).render(
        labels=LABELS,
        when=format_time,
        duration=format_minutes,
        stage_result=stage_result,
        describe_flag=describe_flag,
        percent=format_share,
        money=format_money,
        **context,
    )


def review_context(document: ReviewDocument) -> dict[str, Any]:
    """Return what the review's part of a page shows: the report, its sections, its charts."""
    data = to_json(document)
    sections = data["sections"]
    volume = sections.get("volume") or {}
    return {
        "report": data,
        "incident": data["incident"],
        "sections": sections,
        "volume_chart": volume_chart(volume),
        "sentiment_chart": sentiment_chart(volume),
    }


LABELS: dict[str, Any] = {
    "tier": TIER_SEVERITY,
    "status": STATUS_LABELS,
    "crisis_type": CRISIS_TYPE_LABELS,
    "channel": CHANNEL_LABELS,
    "role": ROLE_LABELS,
    "statement": STATEMENT_STATUS_LABELS,
    "outcome": OUTCOME_LABELS,
    "phase": PHASE_LABELS,
    "review": REVIEW_STATUS_LABELS,
    "action": ACTION_STATUS_LABELS,
    "sentiment": SENTIMENT_LABELS,
    "source": SOURCE_LABELS,
    "review_stage": REVIEW_STAGE_LABELS,
    "decision": DECISION_LABELS,
    "page_reason": PAGE_REASON_LABELS,
}


# --- formatting -----------------------------------------------------------------------------


def format_time(value: str | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """Return an ISO time in Beijing time, or a dash."""
    if not value:
        return "—"
    return datetime.fromisoformat(value).astimezone(BEIJING).strftime(pattern)


def format_minutes(value: float | None) -> str:
    """Return a duration in minutes as 2小时5分钟 / 45分钟, or a dash."""
    if value is None:
        return "—"
    total = round(abs(value))
    hours, minutes = divmod(total, 60)
    if hours and minutes:
        return f"{hours}小时{minutes}分钟"
    if hours:
        return f"{hours}小时"
    return f"{minutes}分钟"


def format_money(value: float | None) -> str:
    """Return an amount in yuan without trailing zeros: 500, 99.5."""
    return f"{value or 0:,.2f}".rstrip("0").rstrip(".")


def format_share(value: float | None) -> str:
    """Return a share as a percentage, or a dash."""
    return "—" if value is None else f"{value * 100:.1f}%"


def stage_result(stage: dict[str, Any]) -> str:
    """Return the verdict on one timing stage in words."""
    status, margin = stage.get("status"), stage.get("margin_minutes")
    if stage.get("stage") == "detect":
        if status == "unknown":
            return "无首发数据"
        before_peak = stage.get("before_peak")
        if before_peak is None:
            return "已测得"
        return "早于声量峰值发现" if before_peak else "晚于声量峰值发现"
    if status == "met":
        return f"达标（提前{format_minutes(margin)}）"
    if status == "missed":
        return f"超时{format_minutes(margin)}"
    if status == "pending":
        return f"进行中（剩余{format_minutes(margin)}）"
    if status == "skipped":
        return "未执行（事件已在时限前解决）"
    return "—"


QUANTITY_LABELS = {"date": "日期", "amount": "金额", "count": "数量"}


def describe_flag(flag: Any) -> str:
    """Return a consistency flag in words: a missing key fact or figures that disagree."""
    if not isinstance(flag, dict):
        return str(flag)
    kind = flag.get("kind")
    if kind == "missing_fact":
        found = f"，声明中为{flag['found']}" if flag.get("found") else ""
        return f"缺少关键事实「{flag.get('label')}」（应为{flag.get('expected')}{found}）"
    if kind == "conflict":
        other = _channel_label(str(flag.get("channel")))
        quantity = QUANTITY_LABELS.get(str(flag.get("quantity")), str(flag.get("unit")))
        return (
            f"{quantity}与{other}不一致：本渠道为{flag.get('found')}，"
            f"{other}为{flag.get('expected')}"
        )
    for key in ("message", "detail", "reason", "description"):
        if flag.get(key):
            return str(flag[key])
    return "；".join(f"{key}: {value}" for key, value in flag.items())


def _channel_label(channel: str) -> str:
    """Return the Chinese name of a channel, or the value itself for one not known."""
    try:
        return CHANNEL_LABELS[Channel(channel)]
    except ValueError:
        return channel


# --- charts ---------------------------------------------------------------------------------


def _timeline(volume: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (phase["phase"], slot) for phase in volume.get("phases", []) for slot in phase["buckets"]
    ]


# Every text of a chart: one font that carries Chinese, or the labels render as boxes.
_TEXTS = ("", "label_", "major_label_", "legend_", "title_", "value_", "tooltip_", "no_data_")


def _style(colors: tuple[str, ...]) -> Style:
    fonts = {f"{text}font_family": FONT for text in _TEXTS}
    return Style(
        background="#ffffff",
        plot_background="#ffffff",
        colors=colors,
        legend_font_size=12,
        title_font_size=14,
        **fonts,
    )


def _axis(chart: Any, timeline: list[tuple[str, dict[str, Any]]]) -> None:
    chart.x_labels = [format_time(slot["start"], "%m-%d %H:%M") for _, slot in timeline]
    chart.x_labels_major_every = max(1, len(timeline) // 8)
    chart.show_minor_x_labels = False
    chart.x_label_rotation = 30


def volume_chart(volume: dict[str, Any]) -> Markup | None:
    """Draw hourly volume before, during and after as a line chart with the peak marked."""
    timeline = _timeline(volume)
    if not timeline or not any(slot["count"] for _, slot in timeline):
        return None
    phases = [name for name in PHASE_LABELS if any(phase == name for phase, _ in timeline)]
    peak = volume.get("peak")
    colors = (*(PHASE_COLORS[name] for name in phases), "#FB8C00")
    chart = pygal.Line(**_config(colors), title="每小时声量（条）", dots_size=2)
    _axis(chart, timeline)
    for name in phases:
        chart.add(
            PHASE_LABELS[name],
            [slot["count"] if phase == name else None for phase, slot in timeline],
        )
    if peak is not None:
        peak_label = f"峰值 {format_time(peak['at'], '%m-%d %H:%M')}（{peak['count']}条）"
        chart.add(
            peak_label,
            [slot["count"] if slot["start"] == peak["at"] else None for _, slot in timeline],
            dots_size=6,
            stroke=False,
        )
    return _svg(chart, "chart-volume")


def sentiment_chart(volume: dict[str, Any]) -> Markup | None:
    """Draw hourly sentiment as stacked bars: positive, neutral, negative."""
    timeline = _timeline(volume)
    if not timeline or not any(slot["count"] for _, slot in timeline):
        return None
    colors = tuple(SENTIMENT_COLORS.values())
    chart = pygal.StackedBar(**_config(colors), title="每小时情感分布（条）")
    _axis(chart, timeline)
    for sentiment, label in SENTIMENT_LABELS.items():
        chart.add(label, [slot.get(sentiment, 0) for _, slot in timeline])
    return _svg(chart, "chart-sentiment")


def _config(colors: tuple[str, ...]) -> dict[str, Any]:
    return {
        "style": _style(colors),
        "width": 900,
        "height": 360,
        "js": [],
        "disable_xml_declaration": True,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 4,
        "show_y_guides": True,
        "include_x_axis": True,
        "truncate_legend": -1,
        "no_data_text": "暂无数据",
    }


_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_CHART_ID = re.compile(r'id="chart-([0-9a-f-]{36})"')


def _svg(chart: Any, identifier: str) -> Markup:
    """Render `chart` as inline SVG with no script, no comments and a stable id."""
    svg = str(chart.render(is_unicode=True))
    svg = _SCRIPT.sub("", svg)
    svg = _COMMENT.sub("", svg)
    match = _CHART_ID.search(svg)
    if match:
        svg = svg.replace(f"chart-{match.group(1)}", identifier)
    svg = svg.replace("<svg ", '<svg role="img" ', 1)
    # pygal escapes every label it draws; the markup is ours, not the user's.
    return Markup(svg)
