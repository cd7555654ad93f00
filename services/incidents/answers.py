"""How the incidents service answers a command it refuses."""

from typing import Any

from libs.contracts.messages import CommandResult, ErrorCode
from libs.contracts.outcome import Outcome


def refuse(code: ErrorCode, message: str, field: str, **data: Any) -> Outcome:
    """Answer with a refusal naming the input at fault; `data` adds facts such as the status."""
    result = CommandResult.failure(code, message, field=field)
    return Outcome.answer(result.model_copy(update={"data": data}) if data else result)
