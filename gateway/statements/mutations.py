"""Statement changes: draft, revise, review (三级审核) and publish, answered by incidents."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay

from gateway.core.commands import added_to_incident, of_incident
from gateway.core.context import Info
from gateway.core.enums import Channel, ReviewDecision, ReviewStage
from gateway.core.errors import (
    AnyRefusal,
    or_why_not,
)
from gateway.core.inputs import as_utc
from gateway.statements.types import Statement
from libs.contracts.response import (
    DraftStatement,
    PublishStatement,
    ReviewStatement,
    ReviseStatement,
)
from libs.database import tables

StatementResult = Annotated[Statement | AnyRefusal, or_why_not("StatementResult", "The statement")]


DRAFT = added_to_incident(tables.Statement, Statement.from_row, "Statement")
CHANGE = of_incident(tables.Statement, "statement", "statement_id", Statement.from_row)


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
        return await DRAFT(info, incident_id, DraftStatement, channel=channel, body=body)

    @strawberry.mutation(description="Change a statement's text; its reviews start over.")
    async def revise_statement(self, info: Info, id: relay.GlobalID, body: str) -> StatementResult:
        return await CHANGE(info, id, ReviseStatement, body=body)

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
        return await CHANGE(info, id, ReviewStatement, stage=stage, decision=decision, note=note)

    @strawberry.mutation(
        description=(
            "Record that an approved statement went out, where and when. Refused while the "
            "statement has unresolved consistency flags."
        )
    )
    async def publish_statement(
        self, info: Info, id: relay.GlobalID, url: str, published_at: datetime
    ) -> StatementResult:
        published = as_utc(published_at)
        return await CHANGE(info, id, PublishStatement, url=url, published_at=published)
