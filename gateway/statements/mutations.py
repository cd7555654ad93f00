"""Statement changes: draft, revise, review (三级审核) and publish, answered by incidents."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay

from gateway.core.commands import (
    RESPONSE_IDS,
    Refused,
    answered_id,
    owned_for_change,
    read_back,
    run,
)
from gateway.core.context import Info
from gateway.core.enums import Channel, ReviewDecision, ReviewStage
from gateway.core.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from gateway.core.inputs import as_utc
from gateway.statements.types import Statement
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


async def _answer(
    info: Info, result: CommandResult | Refused, statement_id: uuid.UUID | None = None
) -> StatementResult:
    """Return the refusal, or the statement read back (the one created, unless named)."""
    if not isinstance(result, CommandResult):
        return result
    row_id = statement_id if statement_id is not None else answered_id(result)
    return await read_back(info, tables.Statement, row_id, Statement.from_row, "Statement")


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
        result = await run(
            info,
            DraftStatement,
            status_of=incident.id,
            incident_id=incident.id,
            channel=channel,
            body=body,
        )
        return await _answer(info, result)

    @strawberry.mutation(description="Change a statement's text; its reviews start over.")
    async def revise_statement(self, info: Info, id: relay.GlobalID, body: str) -> StatementResult:
        statement = await owned_for_change(info, tables.Statement, id, "Statement", "statement")
        if isinstance(statement, (Forbidden, NotFound)):
            return statement
        result = await run(
            info,
            ReviseStatement,
            status_of=statement.incident_id,
            renames=RESPONSE_IDS,
            statement_id=statement.id,
            body=body,
        )
        return await _answer(info, result, statement.id)

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
        result = await run(
            info,
            ReviewStatement,
            status_of=statement.incident_id,
            renames=RESPONSE_IDS,
            statement_id=statement.id,
            stage=stage,
            decision=decision,
            note=note,
        )
        return await _answer(info, result, statement.id)

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
        result = await run(
            info,
            PublishStatement,
            status_of=statement.incident_id,
            renames=RESPONSE_IDS,
            statement_id=statement.id,
            url=url,
            published_at=as_utc(published_at),
        )
        return await _answer(info, result, statement.id)
