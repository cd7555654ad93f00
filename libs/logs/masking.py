"""Masking as the last step before a line is written: its message, fields and traceback.

Runs on the event after it is assembled and before it is rendered, so it sees the finished
message of a stdlib record (its arguments already applied) and never touches the record
itself: a formatter that reads `record.args` (uvicorn's access line) keeps working.
"""

from collections.abc import Mapping, MutableMapping
from typing import Any

from libs.privacy import mask_text, mask_value

# Fields the logging setup itself fills with ids and times; they hold no personal data, and
# a hex id may contain eleven digits in a row that would read as a phone number.
_OWN_FIELDS = frozenset(
    {"timestamp", "level", "logger", "trace_id", "request_id", "message_id", "organization_id"}
)


def mask_event(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    """Processor: mask phone numbers, e-mails, ID and order numbers in every other field."""
    return {name: value if name in _OWN_FIELDS else _masked(value) for name, value in event.items()}


def _masked(value: Any) -> Any:
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        # A phone number passed as a number is still a phone number.
        text = str(value)
        return value if mask_text(text) == text else mask_text(text)
    if isinstance(value, str | Mapping | list | tuple):
        return mask_value(value)
    # Anything else is rendered as text anyway; mask that text.
    return mask_text(str(value))
