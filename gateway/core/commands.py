"""The one way a mutation changes state: check the caller, build, send, map, read back.

The gateway never writes a service's table. A mutation first makes sure the objects it
names belong to the caller's organization, so another tenant's id never reaches a service;
it then builds the command (the contract's own validation answers InvalidInput without
sending anything), sends it to the owning service, awaits the answer, maps a refusal to
its typed result and reads the changed object back afresh.
"""

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import ValidationError
from sqlalchemy.orm.interfaces import LoaderOption
from sqlmodel import SQLModel
from strawberry import relay

from gateway.core.context import Info
from gateway.core.enums import IncidentStatus
from gateway.core.errors import (
    Conflict,
    Forbidden,
    GatewayError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    QuotaExceeded,
    ServiceUnavailableError,
)
from gateway.core.inputs import camel, local_id
from gateway.core.owned import fetch
from libs.contracts.enums import Role
from libs.contracts.messages import (
    ANALYSIS_QUEUE,
    EVENTS_QUEUE,
    INCIDENTS_QUEUE,
    Command,
    CommandResult,
    ErrorCode,
)
from libs.database import tables
from libs.messaging.publisher import CommandNotSent, CommandTimeout, call
from libs.messaging.sealing import SealingError, key_from

Row = TypeVar("Row", bound=SQLModel)
Built = TypeVar("Built")
Refused = NotFound | InvalidTransition | InvalidInput | Conflict
# A service refuses the acting person a duty (separation of duties) as Forbidden, which every
# mutation's union carries already, since any of them may be refused to a read-only key.
ServiceRefusal = Refused | Forbidden
EVERY_REFUSAL: tuple[type[Refused], ...] = (NotFound, InvalidTransition, InvalidInput, Conflict)

# Which service answers the commands on each queue, to name it when it stays silent.
OWNERS: dict[str, str] = {
    ANALYSIS_QUEUE: "analysis",
    INCIDENTS_QUEUE: "incidents",
    EVENTS_QUEUE: "notify",
}
# The incidents service names the object a mutation takes as `id` by its own field name.
RESPONSE_IDS = {"incidentId": "id", "taskId": "id", "statementId": "id"}


def forbidden(info: Info) -> Forbidden | None:
    """Return a Forbidden result when the caller's key may not change data."""
    principal = info.context.principal
    if principal.can_respond():
        return None
    return Forbidden(
        message=f"A key with role `{principal.role.value}` may read but not change data."
    )


def forbidden_unless_admin(info: Info, what: str) -> Forbidden | None:
    """Return Forbidden unless the caller's key is an admin key."""
    role = info.context.principal.role
    if role is Role.ADMIN:
        return None
    return Forbidden(message=f"A key with role `{role.value}` may not {what}; use an admin key.")


def not_found(type_name: str, global_id: relay.GlobalID | uuid.UUID | str) -> NotFound:
    """Say that no object of `type_name` with this id is visible to the caller."""
    return NotFound(message=f"No {type_name} with id {global_id}.")


@dataclass(frozen=True)
class Target(Generic[Row]):
    """What a mutation acts on: a row of `table` named by a global id of `type_name`.

    `noun` names it in a NotFound, `field` is the command's field for its id, `incident`
    gives the incident whose status an InvalidTransition reports. Keys that may only read
    are refused, or any key but an admin's when `manage` says what admins alone may do;
    `options` leave columns out of the read.
    """

    table: type[Row]
    type_name: str
    noun: str
    field: str
    incident: Callable[[Row], uuid.UUID] | None = None
    manage: str | None = None
    options: tuple[LoaderOption, ...] = ()

    async def for_change(
        self, info: Info, global_id: relay.GlobalID | uuid.UUID
    ) -> Row | Forbidden | NotFound:
        """Return the caller's row the mutation acts on, or why it may not.

        A mutation whose argument is the row's `databaseId` passes that id as is.
        """
        if (refusal := _refused(info, self.manage)) is not None:
            return refusal
        row_id = (
            global_id if isinstance(global_id, uuid.UUID) else local_id(global_id, self.type_name)
        )
        row = await fetch(info, self.table, row_id, options=self.options)
        return row if row is not None else not_found(self.noun, global_id)


def _refused(info: Info, manage: str | None) -> Forbidden | None:
    """Refuse keys that may only read, or any key but an admin's when `manage` is given."""
    return forbidden(info) if manage is None else forbidden_unless_admin(info, manage)


def _incident_itself(row: tables.Incident) -> uuid.UUID:
    return row.id


def incident_of(row: tables.Statement | tables.ResponseTask | tables.FollowUpTask) -> uuid.UUID:
    """Return the incident a statement, response task or follow-up belongs to."""
    return row.incident_id


INCIDENT = Target(tables.Incident, "Incident", "incident", "incident_id", incident=_incident_itself)
# Builds a mutation's answer once the command on the row succeeded.
Answer = Callable[[Info, Row, CommandResult], Awaitable[Built]]


@dataclass(frozen=True)
class Change(Generic[Row, Built]):
    """A mutation of one row: find the caller's row of `target`, run a command on it, and
    answer from the row. A service's field names map through `renames`; refusals of a kind
    outside `accept` are errors."""

    target: Target[Row]
    answer: Answer[Row, Built]
    renames: Mapping[str, str] | None = None
    accept: tuple[type[Refused], ...] = EVERY_REFUSAL

    async def __call__(
        self,
        info: Info,
        global_id: relay.GlobalID | uuid.UUID,
        command_type: type[Command],
        **fields: Any,
    ) -> Built | Forbidden | Refused:
        """Run `command_type` with `fields` on the row named by `global_id`, or say why not."""
        row = await self.target.for_change(info, global_id)
        if isinstance(row, (Forbidden, NotFound)):
            return row
        incident = self.target.incident
        result = await run(
            info,
            command_type,
            status_of=incident(row) if incident is not None else None,
            renames=self.renames,
            accept=self.accept,
            **{self.target.field: _row_id(row)},
            **fields,
        )
        if not isinstance(result, CommandResult):
            return result
        return await self.answer(info, row, result)


async def perform(
    info: Info,
    command_type: type[Command],
    reply: Callable[[Info, CommandResult], Awaitable[Built]],
    *,
    manage: str | None = None,
    accept: tuple[type[Refused], ...] = EVERY_REFUSAL,
    **fields: Any,
) -> Built | Forbidden | Refused:
    """Run a command that acts on no existing row and answer from its result, or say why not.

    Keys that may only read are refused, or any key but an admin's when `manage` says what
    admins alone may do; refusals of a kind outside `accept` are errors.
    """
    if (refusal := _refused(info, manage)) is not None:
        return refusal
    result = await run(info, command_type, accept=accept, **fields)
    if not isinstance(result, CommandResult):
        return result
    return await reply(info, result)


def _row_id(row: SQLModel) -> uuid.UUID:
    row_id: uuid.UUID = getattr(row, "id")  # noqa: B009 - every table acted on has an `id`
    return row_id


def _field_path(location: Sequence[int | str]) -> str | None:
    """Name an input field the way the services do: `upsert[0].weight`."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + camel(part)
    return path or None


def _invalid_input(exc: ValidationError) -> InvalidInput:
    """Return the first problem the command contract found in the input as InvalidInput."""
    first = exc.errors()[0]
    return InvalidInput(message=first["msg"], field=_field_path(first["loc"]))


async def _send(info: Info, command: Command) -> CommandResult:
    """Send `command` and await its answer, failing clearly if the service or Redis is away.

    Redis carries commands to the services: while it is away reads still answer (they need
    only PostgreSQL) and a change says so plainly instead of leaking the connection error.
    Names, contacts and secrets travel sealed under the data key (`libs.messaging.sealing`);
    without the key such a command is refused on the field that would have gone in clear.
    """
    settings = info.context.settings
    timeout = settings.command_timeout_seconds
    owner = OWNERS.get(command.QUEUE, "owning")
    try:
        return await call(info.context.redis, command, timeout=timeout, key=key_from(settings))
    except SealingError as exc:
        if exc.answered:
            raise GatewayError(f"The {owner} service applied the change, but {exc}.") from exc
        return CommandResult.failure(ErrorCode.INVALID, str(exc), field=exc.field)
    except CommandTimeout as exc:
        late = f"did not answer within {timeout:g} s; the change may still be applied later."
        raise ServiceUnavailableError(f"The {owner} service {late}") from exc
    except CommandNotSent as exc:
        away = "is not answering; the change was not sent. Try again shortly."
        raise ServiceUnavailableError(f"The queue to the {owner} service {away}") from exc


async def run(
    info: Info,
    command_type: type[Command],
    *,
    status_of: uuid.UUID | None = None,
    renames: Mapping[str, str] | None = None,
    accept: tuple[type[Refused], ...] = EVERY_REFUSAL,
    **fields: Any,
) -> CommandResult | ServiceRefusal:
    """Build the command as the caller (its key and the person it acts for), send it and
    return its success or typed refusal.

    Input the contract rejects answers InvalidInput unsent. A refusal of a kind in `accept`
    becomes its result, with the current status of incident `status_of` on an
    InvalidTransition and field names mapped through `renames`; any other is an error.
    """
    principal = info.context.principal
    try:
        command = command_type(
            organization_id=principal.organization_id,
            actor=principal.actor,
            acting_person_id=principal.person_id,
            **fields,
        )
    except ValidationError as exc:
        return _invalid_input(exc)
    result = await _send(info, command)
    if result.ok:
        return result
    status = await _incident_status(info, status_of) if status_of is not None else None
    return refusal(result, OWNERS.get(command.QUEUE, "owning"), status, renames, accept)


def refusal(
    result: CommandResult,
    service: str,
    current_status: IncidentStatus | None = None,
    renames: Mapping[str, str] | None = None,
    accept: tuple[type[Refused], ...] = (NotFound, InvalidTransition, InvalidInput, Conflict),
) -> ServiceRefusal:
    """Map a service's refusal to the typed GraphQL result, or fail loudly on an unknown one."""
    if result.error is None:
        raise GatewayError("The service refused the command without saying why.")
    code, message = result.error.code, result.error.message
    field = camel(result.error.field) if result.error.field else None
    if field is not None and renames:
        field = renames.get(field, field)
    refusal: Refused | None = None
    if code == "NotFound":
        refusal = NotFound(message=message)
    elif code == "InvalidTransition":
        refusal = InvalidTransition(message=message, current_status=current_status)
    elif code == "Invalid":
        refusal = InvalidInput(message=message, field=field)
    elif code == "Conflict":
        refusal = Conflict(message=message, field=field)
    elif code == "Forbidden":
        # A duty the acting person may not take on: answered whatever `accept` says.
        return Forbidden(message=message)
    elif code == "QuotaExceeded":
        raise OverQuota(
            QuotaExceeded(
                message=message,
                quota=str(result.data.get("quota", "")),
                limit=int(result.data.get("limit", 0)),
            )
        )
    if refusal is None or not isinstance(refusal, accept):
        raise GatewayError(f"The {service} service refused the command: {message}")
    return refusal


class OverQuota(GatewayError):
    """A command refused because the organization has used up a quota.

    A mutation that creates what a quota counts answers it as its typed `QuotaExceeded`
    (`within_quota`); anywhere else it is an error whose message names the quota.
    """

    def __init__(self, refusal: QuotaExceeded) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


async def within_quota(answer: Awaitable[Built]) -> Built | QuotaExceeded:
    """Await a mutation's answer, or the `QuotaExceeded` its service refused it with."""
    try:
        return await answer
    except OverQuota as over:
        return over.refusal


async def _incident_status(info: Info, incident_id: uuid.UUID) -> IncidentStatus | None:
    """Return the incident's status as stored now, for an InvalidTransition answer."""
    row = await fetch(info, tables.Incident, incident_id)
    return IncidentStatus(row.status) if row is not None else None


def answered_id(result: CommandResult, key: str = "id") -> uuid.UUID:
    """Return the id a service answered a created or changed object with."""
    try:
        return uuid.UUID(str(result.data[key]))
    except (KeyError, ValueError) as exc:
        raise GatewayError(f"The service's answer carries no `{key}`.") from exc


async def read_back(
    info: Info,
    table: type[Row],
    row_id: uuid.UUID,
    build: Callable[[Row], Built],
    what: str,
    *,
    by: str = "id",
    options: Sequence[LoaderOption] = (),
    done: str = "changed",
) -> Built:
    """Read the object a command has just `done` afresh and build it; it must be there."""
    row = await fetch(info, table, row_id, by=by, options=options)
    if row is None:
        raise GatewayError(f"{what} {row_id} was {done} but cannot be read back.")
    return build(row)


def reread(
    table: type[Row],
    build: Callable[[Row], Built],
    what: str,
    *,
    by: str = "id",
    options: Sequence[LoaderOption] = (),
    done: str = "changed",
) -> Answer[SQLModel, Built]:
    """Answer a Change with an object of `table` read back by the acted-on row's id.

    `by` names the column holding that id when the object is not the row itself.
    """

    async def answer(info: Info, row: SQLModel, result: CommandResult) -> Built:
        return await read_back(
            info, table, _row_id(row), build, what, by=by, options=options, done=done
        )

    return answer


def created(
    table: type[Row],
    build: Callable[[Row], Built],
    what: str,
    *,
    options: Sequence[LoaderOption] = (),
) -> Callable[[Info, CommandResult], Awaitable[Built]]:
    """Answer with the object of `table` the service created, read back by the id it answered."""

    async def reply(info: Info, result: CommandResult) -> Built:
        return await read_back(
            info, table, answered_id(result), build, what, options=options, done="created"
        )

    return reply


def from_result(
    reply: Callable[[Info, CommandResult], Awaitable[Built]],
) -> Answer[SQLModel, Built]:
    """Answer a Change from the command's result alone, whatever row it acted on."""

    async def answer(info: Info, row: SQLModel, result: CommandResult) -> Built:
        return await reply(info, result)

    return answer


# The rows the incidents service keeps under an incident, each named by its table's name.
Part = TypeVar("Part", tables.Statement, tables.ResponseTask, tables.FollowUpTask)


def of_incident(
    table: type[Part], noun: str, field: str, build: Callable[[Part], Built]
) -> Change[Part, Built]:
    """A Change of a row kept under an incident (a statement, a response task, a follow-up):
    named by a global id of its table's name, refused with the incident's status, answered
    by the row read back afresh; the service's field names map through RESPONSE_IDS."""
    target = Target(table, table.__name__, noun, field, incident_of)
    what = noun[0].upper() + noun[1:]
    return Change(target, reread(table, build, what), renames=RESPONSE_IDS)


def added_to_incident(
    table: type[Row],
    build: Callable[[Row], Built],
    what: str,
    *,
    options: Sequence[LoaderOption] = (),
) -> Change[tables.Incident, Built]:
    """A Change that adds a row of `table` to an incident, answered by the row created."""
    return Change(INCIDENT, from_result(created(table, build, what, options=options)))
