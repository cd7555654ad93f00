"""The steps every command mutation shares: check the caller, build, send, map, read back.

A mutation first makes sure the objects it names belong to the caller's organization, so
another tenant's id never reaches a service; it then builds the command (the contract's own
validation answers InvalidInput without sending anything), sends it, and maps a refusal to
its typed result.
"""

import uuid
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlmodel import SQLModel, col, select
from strawberry import relay

from gateway.context import Info
from gateway.schema.enums import IncidentStatus
from gateway.schema.errors import (
    Conflict,
    Forbidden,
    GatewayError,
    InvalidInput,
    InvalidTransition,
    NotFound,
)
from gateway.schema.mutations import forbidden, invalid_input, refusal_parts, send
from gateway.schema.queries import local_id
from libs.contracts.enums import Role
from libs.contracts.messages import Command, CommandResult
from libs.database import tables

Row = TypeVar("Row", bound=SQLModel)
Refused = NotFound | InvalidTransition | InvalidInput | Conflict


def forbidden_unless_admin(info: Info, what: str) -> Forbidden | None:
    """Return Forbidden unless the caller's key is an admin key."""
    role = info.context.principal.role
    if role is Role.ADMIN:
        return None
    return Forbidden(message=f"A key with role `{role.value}` may not {what}; use an admin key.")


async def fetch(info: Info, table: type[Row], row_id: uuid.UUID | None) -> Row | None:
    """Read a row of the caller's organization afresh (a command may have just changed it)."""
    if row_id is None:
        return None
    key: Any = getattr(table, "id")  # noqa: B009 - every table here has an `id` column
    organization: Any = getattr(table, "organization_id")  # noqa: B009
    statement = select(table).where(
        col(key) == row_id,
        col(organization) == info.context.principal.organization_id,
    )
    async with info.context.sessions() as session:
        return (await session.exec(statement)).one_or_none()


async def owned(
    info: Info, table: type[Row], global_id: relay.GlobalID, type_name: str
) -> Row | None:
    """Return the row behind a global id of `type_name` if it is the caller's, else None."""
    return await fetch(info, table, local_id(global_id, type_name))


def not_found(type_name: str, global_id: relay.GlobalID | uuid.UUID | str) -> NotFound:
    """Say that no object of `type_name` with this id is visible to the caller."""
    return NotFound(message=f"No {type_name} with id {global_id}.")


async def owned_for_change(
    info: Info, table: type[Row], global_id: relay.GlobalID, type_name: str, noun: str
) -> Row | Forbidden | NotFound:
    """Return the caller's row a war-room mutation acts on, or why it may not.

    Forbidden for keys that may only read; NotFound unless the id is a `type_name` of the
    caller's organization (`noun` names it in the message).
    """
    if (refusal := forbidden(info)) is not None:
        return refusal
    row = await owned(info, table, global_id, type_name)
    return row if row is not None else not_found(noun, global_id)


async def dispatch(
    info: Info, command_type: type[Command], **fields: Any
) -> CommandResult | InvalidInput:
    """Build the command as the caller (refusing input its contract rejects) and send it."""
    principal = info.context.principal
    try:
        command = command_type(
            organization_id=principal.organization_id, actor=principal.actor, **fields
        )
    except ValidationError as exc:
        return invalid_input(exc)
    return await send(info, command)


def refused(
    result: CommandResult,
    *,
    service: str,
    current_status: IncidentStatus | None = None,
    renames: Mapping[str, str] | None = None,
) -> Refused:
    """Map a service's refusal to its typed result; `renames` maps its field names to ours."""
    code, message, field = refusal_parts(result)
    if field is not None and renames:
        field = renames.get(field, field)
    if code == "NotFound":
        return NotFound(message=message)
    if code == "InvalidTransition":
        return InvalidTransition(message=message, current_status=current_status)
    if code == "Invalid":
        return InvalidInput(message=message, field=field)
    if code == "Conflict":
        return Conflict(message=message, field=field)
    raise GatewayError(f"The {service} service refused the command: {message}")


async def incident_status(info: Info, incident_id: uuid.UUID) -> IncidentStatus | None:
    """Return the incident's status as stored now, for an InvalidTransition answer."""
    row = await fetch(info, tables.Incident, incident_id)
    return IncidentStatus(row.status) if row is not None else None


def answered_id(result: CommandResult, key: str = "id") -> uuid.UUID:
    """Return the id a service answered a created or changed object with."""
    try:
        return uuid.UUID(str(result.data[key]))
    except (KeyError, ValueError) as exc:
        raise GatewayError(f"The service's answer carries no `{key}`.") from exc


def vanished(type_name: str, row_id: uuid.UUID) -> GatewayError:
    """The service answered success but the object cannot be read back."""
    return GatewayError(f"{type_name} {row_id} was changed but cannot be read back.")
