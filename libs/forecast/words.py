"""The forecast in one Chinese line, as a duty officer would say it on the phone.

"约12分钟后升至红色；首次声明3小时40分钟后到期": first where the crisis is heading (the
next tier, else its peak, else that it holds or falls), then the soonest deadline it beats.
"""

from datetime import timedelta

from libs.contracts.enums import ForecastTrend
from libs.contracts.vocabulary import TIER_COLOURS
from libs.forecast.model import Forecast

# Short names for the deadlines people say aloud; any other task goes by its title.
TASK_NAMES: dict[str, str] = {
    "acknowledge": "确认接警",
    "confirm_scope": "影响范围确认",
    "first_statement": "首次声明",
    "detailed_reply": "详细回复",
    "full_plan": "完整方案",
    "legal_review": "法务审核",
    "website_notice": "官网公告",
}


def duration(span: timedelta) -> str:
    """Return a span in whole minutes as 12分钟, 3小时 or 3小时40分钟."""
    minutes = max(1, round(span / timedelta(minutes=1)))
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest}分钟"
    return f"{hours}小时{rest}分钟" if rest else f"{hours}小时"


def heading(result: Forecast) -> str:
    """Return where the crisis is heading: next tier, peak, holding or falling."""
    if result.time_to_next_tier is not None and result.next_tier is not None:
        colour = TIER_COLOURS[result.next_tier]
        if result.time_to_next_tier < timedelta(minutes=1):
            return f"即将升至{colour}"
        return f"约{duration(result.time_to_next_tier)}后升至{colour}"
    if result.time_to_peak is not None:
        return f"约{duration(result.time_to_peak)}后达到峰值"
    if result.trend is ForecastTrend.FALLING:
        return "热度正在回落"
    return "热度基本持平"


def summary(result: Forecast) -> str:
    """Return the forecast's one-line Chinese summary (module docstring)."""
    parts = [heading(result)]
    if result.at_risk:
        first = result.at_risk[0]
        name = TASK_NAMES.get(first.deadline.kind, first.deadline.title)
        parts.append(f"{name}{duration(first.time_left(result.now))}后到期")
    return "；".join(parts)
