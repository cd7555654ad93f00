"""Fields whose work grows with something other than a page size.

A dashboard panel is one aggregate over every mention in the window: a year costs about
365 times what a day costs, however few rows it answers. Such a field multiplies the cost
of everything asked below it by its weight.
"""

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.dashboard.queries import DEFAULT_WINDOW

DAY = timedelta(days=1)
Weight = Callable[[Mapping[str, Any]], int]


def _moment(value: Any) -> datetime | None:
    """A DateTime argument as given: parsed from a literal, or a variable's text."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _moment(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def days_asked(arguments: Mapping[str, Any]) -> int:
    """The days between `since` and `until` (defaults as the dashboard applies them), at least 1."""
    until = _moment(arguments.get("until")) or datetime.now(UTC)
    since = _moment(arguments.get("since")) or until - DEFAULT_WINDOW
    return max(1, math.ceil((until - since) / DAY))


# (parent type, field) as the schema names them.
WEIGHTS: Mapping[tuple[str, str], Weight] = {
    ("Query", "dashboard"): days_asked,
}
