"""How the incidents service answers a command: its refusals, and how rows are shown."""

import uuid
from datetime import datetime
from typing import Any

from libs.contracts.messages import CommandResult, ErrorCode
from libs.contracts.outcome import Outcome


def refuse(code: ErrorCode, message: str, field: str, **data: Any) -> Outcome:
    """Answer with a refusal naming the input at fault; `data` adds facts such as the status."""
    result = CommandResult.failure(code, message, field=field)
    return Outcome.answer(result.model_copy(update={"data": data}) if data else result)


def shown(row: object, *fields: str) -> dict[str, Any]:
    """Return `fields` of `row` as answers show them: ids as text, times in ISO 8601.

    Lists are copied, so an answer never shares a list with a row the session still holds.
    """
    return {name: _shown(getattr(row, name)) for name in fields}


def _shown(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return list(value)
    return value
