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
from gateway.core.errors import AnyRefusal, or_why_not, superseded_by
from gateway.core.inputs import as_utc, input_fields
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


@strawberry.input(description="A new statement for one channel of an incident.")
class StatementDraftInput:
    incident_id: relay.GlobalID
    channel: Channel
    body: str


@strawberry.input(description="A statement's new text.")
class StatementReviseInput:
    id: relay.GlobalID
    body: str


@strawberry.input(description="A reviewer's decision on a statement at one stage.")
class StatementReviewInput:
    id: relay.GlobalID
    stage: ReviewStage
    decision: ReviewDecision
    note: str | None = strawberry.field(default=None, description="Required to reject.")


@strawberry.input(description="Where and when an approved statement went out.")
class StatementPublishInput:
    id: relay.GlobalID
    url: str
    published_at: datetime = strawberry.field(description="A time without an offset is UTC.")


DRAFTED = (
    "Draft a statement for one channel. A channel with a live statement answers Conflict "
    "(revise that one); after publication a new draft is an update (续报)."
)
REVISED = "Change a statement's text; its reviews start over."
REVIEWED = (
    "Approve or reject a statement at one review stage. Levels go in order (LEVEL_1, LEVEL_2, "
    "LEVEL_3); LEGAL applies to red incidents only. A rejection needs a note; a stage out of "
    "order answers InvalidTransition."
)
PUBLISHED = (
    "Record that an approved statement went out, where and when. Refused while the statement "
    "has unresolved consistency flags."
)


@strawberry.type
class StatementMutation:
    @strawberry.mutation(description=DRAFTED, deprecation_reason=superseded_by("statementDraft"))
    async def draft_statement(
        self, info: Info, incident_id: relay.GlobalID, channel: Channel, body: str
    ) -> StatementResult:
        return await DRAFT(info, incident_id, DraftStatement, channel=channel, body=body)

    @strawberry.mutation(description=DRAFTED)
    async def statement_draft(self, info: Info, input: StatementDraftInput) -> StatementResult:
        fields = input_fields(input, but=("incident_id",))
        return await DRAFT(info, input.incident_id, DraftStatement, **fields)

    @strawberry.mutation(description=REVISED, deprecation_reason=superseded_by("statementRevise"))
    async def revise_statement(self, info: Info, id: relay.GlobalID, body: str) -> StatementResult:
        return await CHANGE(info, id, ReviseStatement, body=body)

    @strawberry.mutation(description=REVISED)
    async def statement_revise(self, info: Info, input: StatementReviseInput) -> StatementResult:
        return await CHANGE(info, input.id, ReviseStatement, body=input.body)

    @strawberry.mutation(description=REVIEWED, deprecation_reason=superseded_by("statementReview"))
    async def review_statement(
        self,
        info: Info,
        id: relay.GlobalID,
        stage: ReviewStage,
        decision: ReviewDecision,
        note: str | None = None,
    ) -> StatementResult:
        return await CHANGE(info, id, ReviewStatement, stage=stage, decision=decision, note=note)

    @strawberry.mutation(description=REVIEWED)
    async def statement_review(self, info: Info, input: StatementReviewInput) -> StatementResult:
        return await CHANGE(info, input.id, ReviewStatement, **input_fields(input, but=("id",)))

    @strawberry.mutation(
        description=PUBLISHED, deprecation_reason=superseded_by("statementPublish")
    )
    async def publish_statement(
        self, info: Info, id: relay.GlobalID, url: str, published_at: datetime
    ) -> StatementResult:
        published = as_utc(published_at)
        return await CHANGE(info, id, PublishStatement, url=url, published_at=published)

    @strawberry.mutation(description=PUBLISHED)
    async def statement_publish(self, info: Info, input: StatementPublishInput) -> StatementResult:
        published = as_utc(input.published_at)
        return await CHANGE(info, input.id, PublishStatement, url=input.url, published_at=published)
