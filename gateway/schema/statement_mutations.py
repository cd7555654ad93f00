"""Mutations on public statements: draft, revise, review (三级审核) and publish.

Each is the matching command of `libs.contracts.response`, answered by the incidents
service; the statement is read back from the database after success.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay

from gateway.context import Info
from gateway.schema.commands import (
    answered_id,
    dispatch,
    fetch,
    incident_status,
    owned_for_change,
    refused,
    vanished,
)
from gateway.schema.enums import Channel, ReviewDecision, ReviewStage
from gateway.schema.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
)
from gateway.schema.queries import as_utc
from gateway.schema.response_mutations import AS_ID, SERVICE
from gateway.schema.response_types import Statement
from libs.contracts.messages import CommandResult
from libs.contracts.response import (
    DraftStatement,
    PublishStatement,
    ReviewStatement,
    ReviseStatement,
)
from libs.database import tables

StatementResult = Annotated[
    Statement | NotFound | InvalidTransition | InvalidInput | Conflict | Forbidden,
    strawberry.union("StatementResult", description="The statement, or why not."),
]


async def _statement_answer(
    info: Info, statement: tables.Statement, result: CommandResult | InvalidInput
) -> StatementResult:
    """Map the answer of a command on `statement` and read the statement back."""
    if isinstance(result, InvalidInput):
        return result
    if not result.ok:
        status = await incident_status(info, statement.incident_id)
        return refused(result, service=SERVICE, current_status=status, renames=AS_ID)
    row = await fetch(info, tables.Statement, statement.id)
    if row is None:
        raise vanished("Statement", statement.id)
    return Statement.from_row(row)


@strawberry.type
class StatementMutation:
    @strawberry.mutation(
        description=(
            "Draft a statement for one channel. A channel with a live statement answers "
            "Conflict (revise that one); after publication a new draft is an update (续报)."
        )
    )
    async def draft_statement(
        self, info: Info, incident_id: relay.GlobalID, channel: Channel, body: str
    ) -> StatementResult:
        incident = await owned_for_change(
            info, tables.Incident, incident_id, "Incident", "incident"
        )
        if isinstance(incident, (Forbidden, NotFound)):
            return incident
        result = await dispatch(
            info,
            DraftStatement,
            incident_id=incident.id,
            channel=channel,
            body=body,
        )
        if isinstance(result, InvalidInput):
            return result
        if not result.ok:
            status = await incident_status(info, incident.id)
            return refused(result, service=SERVICE, current_status=status)
        statement_id = answered_id(result)
        row = await fetch(info, tables.Statement, statement_id)
        if row is None:
            raise vanished("Statement", statement_id)
        return Statement.from_row(row)

    @strawberry.mutation(description="Change a statement's text; its reviews start over.")
    async def revise_statement(self, info: Info, id: relay.GlobalID, body: str) -> StatementResult:
        statement = await owned_for_change(info, tables.Statement, id, "Statement", "statement")
        if isinstance(statement, (Forbidden, NotFound)):
            return statement
        result = await dispatch(
            info,
            ReviseStatement,
            statement_id=statement.id,
            body=body,
        )
        return await _statement_answer(info, statement, result)

    @strawberry.mutation(
        description=(
            "Approve or reject a statement at one review stage. Levels go in order "
            "(LEVEL_1, LEVEL_2, LEVEL_3); LEGAL applies to red incidents only. A rejection "
            "needs a note; a stage out of order answers InvalidTransition."
        )
    )
    async def review_statement(
        self,
        info: Info,
        id: relay.GlobalID,
        stage: ReviewStage,
        decision: ReviewDecision,
        note: str | None = None,
    ) -> StatementResult:
        statement = await owned_for_change(info, tables.Statement, id, "Statement", "statement")
        if isinstance(statement, (Forbidden, NotFound)):
            return statement
        result = await dispatch(
            info,
            ReviewStatement,
            statement_id=statement.id,
            stage=stage,
            decision=decision,
            note=note,
        )
        return await _statement_answer(info, statement, result)

    @strawberry.mutation(
        description=(
            "Record that an approved statement went out, where and when. Refused while the "
            "statement has unresolved consistency flags."
        )
    )
    async def publish_statement(
        self, info: Info, id: relay.GlobalID, url: str, published_at: datetime
    ) -> StatementResult:
        statement = await owned_for_change(info, tables.Statement, id, "Statement", "statement")
        if isinstance(statement, (Forbidden, NotFound)):
            return statement
        result = await dispatch(
            info,
            PublishStatement,
            statement_id=statement.id,
            url=url,
            published_at=as_utc(published_at),
        )
        return await _statement_answer(info, statement, result)
