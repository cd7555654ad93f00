"""How the incidents service answers a command: its refusals, and how rows are shown."""

import uuid
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import CommandResult, ErrorCode
from libs.contracts.outcome import Outcome
from libs.contracts.refusals import Refused
from libs.database.owned import Row, owned


def refuse(code: ErrorCode, message: str, field: str, **data: Any) -> Outcome:
    """Answer with a refusal naming the input at fault; `data` adds facts such as the status."""
    return Outcome.answer(refusal(code, message, field, **data))


def refusal(code: ErrorCode, message: str, field: str, **data: Any) -> CommandResult:
    """Return the refusal `refuse` answers with, for a shared check to raise as `Refused`."""
    result = CommandResult.failure(code, message, field=field)
    return result.model_copy(update={"data": data}) if data else result


async def existing(
    session: AsyncSession,
    table: type[Row],
    organization_id: uuid.UUID,
    row_id: uuid.UUID,
    name: str,
    field: str,
    *,
    lock: bool = False,
) -> Row:
    """Return the organization's `name` row (see `owned`); raise `Refused` naming `field`.

    For handlers declared `answering`: another organization's row "does not exist" either.
    """
    row = await owned(session, table, organization_id, row_id, lock=lock)
    if row is None:
        raise Refused(refusal(ErrorCode.NOT_FOUND, f"{name} {row_id} does not exist", field))
    return row


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
