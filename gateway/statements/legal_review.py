"""Asking for legal review of a statement at any tier, answered by incidents."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from typing import Annotated

import strawberry
from strawberry import relay

from gateway.core.commands import Target, incident_of, run
from gateway.core.context import Info
from gateway.core.errors import AnyRefusal, Forbidden, NotFound, or_why_not
from gateway.statements.types import Statement
from libs.contracts.messages import CommandResult
from libs.contracts.response import RequestLegalReview
from libs.database import tables

STATEMENT = Target(tables.Statement, "Statement", "statement", "statement_id", incident_of)


@strawberry.input(description="The statement legal should approve, and why.")
class RequestLegalReviewInput:
    statement_id: relay.GlobalID
    reason: str = strawberry.field(description="Why legal should see it (1 to 2000 characters).")


@strawberry.type(description="The statement, now also awaiting legal approval.")
class RequestLegalReviewPayload:
    statement: Statement


RequestLegalReviewResult = Annotated[
    RequestLegalReviewPayload | AnyRefusal,
    or_why_not("RequestLegalReviewResult", "The statement"),
]


@strawberry.type
class LegalReviewMutation:
    @strawberry.mutation(
        description=(
            "Ask for legal approval of an unpublished statement, whatever the incident's tier: "
            "it keeps its approvals, and cannot be published until legal approves. Asking "
            "again changes nothing."
        )
    )
    async def request_legal_review(
        self, info: Info, input: RequestLegalReviewInput
    ) -> RequestLegalReviewResult:
        row = await STATEMENT.for_change(info, input.statement_id)
        if isinstance(row, (Forbidden, NotFound)):
            return row
        result = await run(
            info,
            RequestLegalReview,
            status_of=row.incident_id,
            statement_id=row.id,
            reason=input.reason,
        )
        if not isinstance(result, CommandResult):
            return result
        fresh = await Statement.require(info, row.id)
        return RequestLegalReviewPayload(statement=fresh)
