"""Write fields: each one is a command sent to the owning service, its answer awaited.

The gateway never writes a table. It checks the caller may change data, sends the command,
maps the service's answer to a typed result and reads the changed object back.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from typing import Annotated

import strawberry
from pydantic import ValidationError
from sqlmodel import col, select
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
    ServiceUnavailableError,
)
from gateway.schema.queries import local_id
from gateway.schema.types import Incident, Watchlist
from libs.contracts.messages import AcknowledgeIncident, Command, CommandResult, CreateWatchlist
from libs.database import tables
from libs.messaging.publisher import CommandTimeout, call

CreateWatchlistResult = Annotated[
    Watchlist | InvalidInput | Conflict | Forbidden,
    strawberry.union("CreateWatchlistResult"),
]
AcknowledgeIncidentResult = Annotated[
    Incident | NotFound | InvalidTransition | Forbidden,
    strawberry.union("AcknowledgeIncidentResult"),
]

# Which service answers each command, to name it when it stays silent.
_OWNERS: dict[type[Command], str] = {
    CreateWatchlist: "analysis",
    AcknowledgeIncident: "incidents",
}


@strawberry.input(
    description="A new watchlist: a name unique in your organization and its keywords."
)
class CreateWatchlistInput:
    name: str
    keywords: list[str]


def forbidden(info: Info) -> Forbidden | None:
    """Return a Forbidden result when the caller's key may not change data."""
    principal = info.context.principal
    if principal.can_respond():
        return None
    return Forbidden(
        message=f"A key with role `{principal.role.value}` may read but not change data."
    )


async def send(info: Info, command: Command) -> CommandResult:
    """Send `command` and await its answer, failing clearly if the service stays silent."""
    timeout = info.context.settings.command_timeout_seconds
    try:
        return await call(info.context.redis, command, timeout=timeout)
    except CommandTimeout as exc:
        owner = _OWNERS.get(type(command), "owning")
        raise ServiceUnavailableError(
            f"The {owner} service did not answer within {timeout:g} s; "
            "the change may still be applied later."
        ) from exc


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _refusal(result: CommandResult) -> tuple[str, str, str | None]:
    if result.error is None:
        raise GatewayError("The service refused the command without saying why.")
    field = _camel(result.error.field) if result.error.field else None
    return result.error.code, result.error.message, field


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create a watchlist; the analysis service owns it.")
    async def create_watchlist(
        self, info: Info, input: CreateWatchlistInput
    ) -> CreateWatchlistResult:
        refused = forbidden(info)
        if refused is not None:
            return refused
        principal = info.context.principal
        try:
            command = CreateWatchlist(
                organization_id=principal.organization_id,
                actor=principal.actor,
                name=input.name,
                keywords=input.keywords,
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            field = _camel(str(first["loc"][0])) if first["loc"] else None
            return InvalidInput(message=first["msg"], field=field)
        result = await send(info, command)
        if not result.ok:
            code, message, field = _refusal(result)
            if code == "Conflict":
                return Conflict(message=message, field=field)
            if code == "Invalid":
                return InvalidInput(message=message, field=field)
            raise GatewayError(f"The analysis service refused the command: {message}")
        watchlist_id = uuid.UUID(str(result.data["id"]))
        statement = select(tables.Watchlist).where(
            col(tables.Watchlist.id) == watchlist_id,
            col(tables.Watchlist.organization_id) == principal.organization_id,
        )
        async with info.context.sessions() as session:
            row = (await session.exec(statement)).one_or_none()
        if row is None:
            raise GatewayError(f"Watchlist {watchlist_id} was created but cannot be read back.")
        return Watchlist.from_row(row)

    @strawberry.mutation(description="Acknowledge an incident: monitoring has started.")
    async def acknowledge_incident(
        self, info: Info, id: relay.GlobalID, note: str | None = None
    ) -> AcknowledgeIncidentResult:
        refused = forbidden(info)
        if refused is not None:
            return refused
        principal = info.context.principal
        incident_id = local_id(id, "Incident")
        # Checking ownership here first means another tenant's id never reaches the service.
        if incident_id is None or await _load_incident(info, incident_id) is None:
            return NotFound(message=f"No incident with id {id}.")
        try:
            command = AcknowledgeIncident(
                organization_id=principal.organization_id,
                actor=principal.actor,
                incident_id=incident_id,
                note=note,
            )
        except ValidationError as exc:
            raise GatewayError(exc.errors()[0]["msg"]) from exc
        result = await send(info, command)
        current = await _load_incident(info, incident_id)
        if not result.ok:
            code, message, _ = _refusal(result)
            if code == "NotFound" or current is None:
                return NotFound(message=message)
            if code == "InvalidTransition":
                return InvalidTransition(
                    message=message, current_status=IncidentStatus(current.status)
                )
            raise GatewayError(f"The incidents service refused the command: {message}")
        if current is None:
            raise GatewayError(f"Incident {incident_id} was acknowledged but cannot be read back.")
        return Incident.from_row(current)


async def _load_incident(info: Info, incident_id: uuid.UUID) -> tables.Incident | None:
    # A fresh read, not the request's loader: the command has just changed the row.
    statement = select(tables.Incident).where(
        col(tables.Incident.id) == incident_id,
        col(tables.Incident.organization_id) == info.context.principal.organization_id,
    )
    async with info.context.sessions() as session:
        return (await session.exec(statement)).one_or_none()
