"""Write fields: each one is a command sent to the owning service, its answer awaited.

The gateway never writes a table. It checks the caller may change data, sends the command,
maps the service's answer to a typed result and reads the changed object back.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from collections.abc import Sequence
from typing import Annotated

import strawberry
from pydantic import ValidationError
from sqlmodel import col, select
from strawberry import relay

from gateway.context import Info
from gateway.schema.enums import IncidentStatus, SensitiveCategory
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
from libs.contracts.messages import (
    ANALYSIS_QUEUE,
    EVENTS_QUEUE,
    INCIDENTS_QUEUE,
    AcknowledgeIncident,
    Command,
    CommandResult,
    CreateWatchlist,
    SetSensitiveTerms,
    UpdateWatchlist,
)
from libs.database import tables
from libs.messaging.publisher import CommandTimeout, call

CreateWatchlistResult = Annotated[
    Watchlist | InvalidInput | Conflict | Forbidden,
    strawberry.union("CreateWatchlistResult", description="The new watchlist, or why not."),
]
UpdateWatchlistResult = Annotated[
    Watchlist | InvalidInput | Conflict | NotFound | Forbidden,
    strawberry.union("UpdateWatchlistResult", description="The changed watchlist, or why not."),
]
AcknowledgeIncidentResult = Annotated[
    Incident | NotFound | InvalidTransition | Forbidden,
    strawberry.union(
        "AcknowledgeIncidentResult", description="The acknowledged incident, or why not."
    ),
]

# Which service answers each command, to name it when it stays silent.
_OWNERS: dict[type[Command], str] = {
    CreateWatchlist: "analysis",
    UpdateWatchlist: "analysis",
    SetSensitiveTerms: "analysis",
    AcknowledgeIncident: "incidents",
}
# Every other command is named by the queue it travels on.
_QUEUE_OWNERS: dict[str, str] = {
    ANALYSIS_QUEUE: "analysis",
    INCIDENTS_QUEUE: "incidents",
    EVENTS_QUEUE: "notify",
}


@strawberry.input(
    description=(
        "A new watchlist: a name unique in your organization, a boolean `query`, keywords, "
        "or both; without a query any of the keywords matches."
    )
)
class CreateWatchlistInput:
    name: str
    keywords: list[str] = strawberry.field(
        default_factory=list,
        description="Names segmentation keeps whole (brands, products, people).",
    )
    query: str | None = strawberry.field(
        default=None,
        description=(
            "A boolean rule: `&` or AND (or just a space), `|` or OR, `!` or NOT, parentheses, "
            '"quoted phrases" and `source:weibo`, e.g. '
            '`(奶粉 | 米粉) & (致癌 | 召回) & !谣言`. A bad rule answers InvalidInput on "query" '
            "with the column of the problem."
        ),
    )


@strawberry.input(description="Changes to a watchlist; an omitted field stays as it is.")
class UpdateWatchlistInput:
    id: relay.GlobalID
    name: str | None = None
    keywords: list[str] | None = strawberry.field(
        default=None,
        description="Replaces the keywords; a rule made from the old keywords follows them.",
    )
    query: str | None = strawberry.field(default=None, description="Replaces the rule.")


@strawberry.input(description="One term of your sensitive-term lexicon.")
class SensitiveTermInput:
    term: str
    category: SensitiveCategory
    weight: float = strawberry.field(description="From 0 to 1; 0 disables a default term.")


@strawberry.input(
    description="Add or change terms, and drop earlier changes (the term reverts to the default)."
)
class SetSensitiveTermsInput:
    upsert: list[SensitiveTermInput] = strawberry.field(default_factory=list)
    remove: list[str] = strawberry.field(default_factory=list)


@strawberry.type(description="What a lexicon change applied, as the analysis service stored it.")
class SensitiveTermsChanged:
    upserted: list[str] = strawberry.field(description="Terms added or changed, normalized.")
    removed: list[str] = strawberry.field(description="Terms whose change was dropped.")


SetSensitiveTermsResult = Annotated[
    SensitiveTermsChanged | InvalidInput | Forbidden,
    strawberry.union(
        "SetSensitiveTermsResult", description="The lexicon change as applied, or why not."
    ),
]


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
        owner = _OWNERS.get(type(command)) or _QUEUE_OWNERS.get(command.QUEUE, "owning")
        raise ServiceUnavailableError(
            f"The {owner} service did not answer within {timeout:g} s; "
            "the change may still be applied later."
        ) from exc


def camel(name: str) -> str:
    """Return a service's field name as clients spell it: `incident_id` → `incidentId`."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def refusal_parts(result: CommandResult) -> tuple[str, str, str | None]:
    """Return a refusal's code, message and field (as clients spell it)."""
    if result.error is None:
        raise GatewayError("The service refused the command without saying why.")
    field = camel(result.error.field) if result.error.field else None
    return result.error.code, result.error.message, field


def _field_path(location: Sequence[int | str]) -> str | None:
    """Name an input field the way the services do: `upsert[0].weight`."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + camel(part)
    return path or None


def invalid_input(exc: ValidationError) -> InvalidInput:
    """Return the first problem the command contract found in the input as InvalidInput."""
    first = exc.errors()[0]
    return InvalidInput(message=first["msg"], field=_field_path(first["loc"]))


async def _read_watchlist(info: Info, watchlist_id: uuid.UUID) -> tables.Watchlist | None:
    # A fresh read, not the request's loader: a command may have just changed the row.
    statement = select(tables.Watchlist).where(
        col(tables.Watchlist.id) == watchlist_id,
        col(tables.Watchlist.organization_id) == info.context.principal.organization_id,
    )
    async with info.context.sessions() as session:
        return (await session.exec(statement)).one_or_none()


def _watchlist_refusal(
    result: CommandResult,
) -> InvalidInput | Conflict | NotFound:
    code, message, field = refusal_parts(result)
    if code == "Conflict":
        return Conflict(message=message, field=field)
    if code == "Invalid":
        return InvalidInput(message=message, field=field)
    if code == "NotFound":
        return NotFound(message=message)
    raise GatewayError(f"The analysis service refused the command: {message}")


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
                query=input.query,
            )
        except ValidationError as exc:
            return invalid_input(exc)
        result = await send(info, command)
        if not result.ok:
            refusal = _watchlist_refusal(result)
            if isinstance(refusal, NotFound):
                raise GatewayError(f"The analysis service refused the command: {refusal.message}")
            return refusal
        watchlist_id = uuid.UUID(str(result.data["id"]))
        row = await _read_watchlist(info, watchlist_id)
        if row is None:
            raise GatewayError(f"Watchlist {watchlist_id} was created but cannot be read back.")
        return Watchlist.from_row(row)

    @strawberry.mutation(
        description="Change a watchlist's name, keywords or rule; the analysis service owns it."
    )
    async def update_watchlist(
        self, info: Info, input: UpdateWatchlistInput
    ) -> UpdateWatchlistResult:
        refused = forbidden(info)
        if refused is not None:
            return refused
        principal = info.context.principal
        watchlist_id = local_id(input.id, "Watchlist")
        # Checking ownership here first means another tenant's id never reaches the service.
        if watchlist_id is None or await _read_watchlist(info, watchlist_id) is None:
            return NotFound(message=f"No watchlist with id {input.id}.")
        try:
            command = UpdateWatchlist(
                organization_id=principal.organization_id,
                actor=principal.actor,
                watchlist_id=watchlist_id,
                name=input.name,
                keywords=input.keywords,
                query=input.query,
            )
        except ValidationError as exc:
            return invalid_input(exc)
        result = await send(info, command)
        if not result.ok:
            return _watchlist_refusal(result)
        row = await _read_watchlist(info, watchlist_id)
        if row is None:
            return NotFound(message=f"No watchlist with id {input.id}.")
        return Watchlist.from_row(row)

    @strawberry.mutation(
        description=(
            "Add, change or disable sensitive terms, and drop earlier changes; all or nothing."
        )
    )
    async def set_sensitive_terms(
        self, info: Info, input: SetSensitiveTermsInput
    ) -> SetSensitiveTermsResult:
        refused = forbidden(info)
        if refused is not None:
            return refused
        principal = info.context.principal
        try:
            # Validated as one document so a refusal names its place, e.g. `upsert[2].weight`.
            command = SetSensitiveTerms.model_validate(
                {
                    "organization_id": principal.organization_id,
                    "actor": principal.actor,
                    "upsert": [
                        {"term": entry.term, "category": entry.category, "weight": entry.weight}
                        for entry in input.upsert
                    ],
                    "remove": input.remove,
                }
            )
        except ValidationError as exc:
            return invalid_input(exc)
        result = await send(info, command)
        if not result.ok:
            code, message, field = refusal_parts(result)
            if code == "Invalid":
                return InvalidInput(message=message, field=field)
            raise GatewayError(f"The analysis service refused the command: {message}")
        return SensitiveTermsChanged(
            upserted=[str(term) for term in result.data.get("upserted", [])],
            removed=[str(term) for term in result.data.get("removed", [])],
        )

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
            code, message, _ = refusal_parts(result)
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
