"""The daily risk check's card: a digest line per finding, capped, and 无 for nothing."""

import uuid
from datetime import UTC, datetime
from typing import Any

from libs.contracts.enums import EventType
from libs.contracts.response import IntegrationEventEmitted
from services.notify.chat.renderers import build_card

AT = datetime(2025, 3, 2, 1, 0, tzinfo=UTC)


def _card_facts(payload: dict[str, Any]) -> dict[str, str]:
    event = IntegrationEventEmitted(
        organization_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        type=EventType.RISK_CHECK_COMPLETED,
        occurred_at=AT,
        payload=payload,
    )
    card = build_card(event, console_url="https://console.example.com/incidents")
    assert card.link is None and card.tier is None
    return dict(card.facts)


def _watchlist(name: str, tier: str) -> dict[str, Any]:
    return {"watchlist_id": str(uuid.uuid4()), "name": name, "tier": tier}


def test_a_quiet_day_says_there_is_nothing() -> None:
    facts = _card_facts(
        {
            "day": "2025-03-02",
            "time_zone": "Asia/Shanghai",
            "watchlists": [],
            "spikes": [],
            "negative_stories": [],
            "rising_terms": [],
            "open_incidents": [],
            "open_incident_total": 0,
            "overdue_tasks": [],
            "overdue_task_total": 0,
        }
    )
    assert facts == {
        "时区": "Asia/Shanghai",
        "预警中的关注主题": "无",
        "24 小时新增预警": "无",
        "负面热点": "无",
        "上升热词": "无",
        "进行中事件": "无",
        "超时任务": "无",
    }


def test_long_lists_name_three_and_count_the_rest() -> None:
    names = ["奶粉", "门店", "物流", "客服", "包装"]
    incidents = [
        {
            "incident_id": str(uuid.uuid4()),
            "title": f"「{n}」舆情",
            "tier": "yellow",
            "status": "detected",
            "detected_at": AT.isoformat(),
        }
        for n in names[:3]
    ]
    facts = _card_facts(
        {
            "day": "2025-03-02",
            "watchlists": [_watchlist(n, "yellow") for n in names],
            "open_incidents": incidents,
            "open_incident_total": 12,
            "overdue_task_total": 3,
        }
    )
    assert facts["预警中的关注主题"] == "黄色「奶粉」；黄色「门店」；黄色「物流」 等 5 项"
    assert facts["进行中事件"].endswith(" 等 12 项")
    assert facts["进行中事件"].startswith("「奶粉」舆情（黄色·")
    assert facts["超时任务"] == "3 项"


def test_a_competitor_or_industry_watchlist_is_marked_as_the_markets() -> None:
    facts = _card_facts(
        {
            "day": "2025-03-02",
            "watchlists": [
                {**_watchlist("禾岚", "red"), "kind": "own_brand"},
                {**_watchlist("竞品·澳优", "orange"), "kind": "competitor"},
                {**_watchlist("奶粉行业", "yellow"), "kind": "industry"},
            ],
            "spikes": [
                {
                    **_watchlist("竞品·澳优", "orange"),
                    "kind": "competitor",
                    "signals": 2,
                    "last_at": AT.isoformat(),
                    "reasons": [],
                }
            ],
        }
    )
    assert (
        facts["预警中的关注主题"]
        == "红色「禾岚」；橙色「竞品·澳优」（竞品）；黄色「奶粉行业」（行业）"
    )
    assert facts["24 小时新增预警"] == "「竞品·澳优」（竞品）橙色预警 2 次"
