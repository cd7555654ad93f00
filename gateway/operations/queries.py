"""Dead letters of the caller's organization, for admins only."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import strawberry
from sqlmodel import col, select

from gateway.core.context import Info
from gateway.core.errors import ForbiddenError
from gateway.core.pagination import check_page_size
from gateway.operations.types import DeadLetter, MentionFailure
from libs.contracts.enums import Role
from libs.database import tables


@strawberry.type
class OperationsQuery:
    @strawberry.field(
        description=(
            "Messages your organization's services could not apply, the newest first (at most "
            "100). Only those waiting for an operator unless `includeRedriven`. Admin only."
        )
    )
    async def dead_letters(
        self, info: Info, first: int = 50, include_redriven: bool = False
    ) -> list[DeadLetter]:
        if info.context.principal.role is not Role.ADMIN:
            raise ForbiddenError("Only an admin key may list dead letters.")
        check_page_size(first)
        letter = tables.DeadLetter
        query = select(letter).where(
            col(letter.organization_id) == info.context.principal.organization_id
        )
        if not include_redriven:
            query = query.where(col(letter.redriven_at).is_(None))
        query = query.order_by(col(letter.failed_at).desc(), col(letter.message_id)).limit(first)
        async with info.context.sessions() as session:
            rows = (await session.exec(query)).all()
        return [DeadLetter.from_row(row) for row in rows]

    @strawberry.field(
        description=(
            "Mentions of your organization not analysed yet that need attention, the most "
            "recent failure first (at most 100); only those given up if `givenUpOnly`. "
            "Admin only."
        )
    )
    async def mention_failures(
        self, info: Info, first: int = 50, given_up_only: bool = False
    ) -> list[MentionFailure]:
        if info.context.principal.role is not Role.ADMIN:
            raise ForbiddenError("Only an admin key may list mention failures.")
        check_page_size(first)
        failure = tables.MentionFailure
        query = select(failure).where(
            col(failure.organization_id) == info.context.principal.organization_id
        )
        if given_up_only:
            query = query.where(col(failure.given_up_at).is_not(None))
        query = query.order_by(col(failure.last_failed_at).desc(), col(failure.mention_id))
        async with info.context.sessions() as session:
            rows = (await session.exec(query.limit(first))).all()
        return [MentionFailure.masked(row) for row in rows]
