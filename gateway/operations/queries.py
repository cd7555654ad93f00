"""Dead letters of the caller's organization, for admins only."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from collections.abc import Sequence
from typing import Any

import strawberry
from sqlmodel import col, select

from gateway.core.context import Info
from gateway.core.errors import ForbiddenError
from gateway.core.pagination import check_page_size
from gateway.operations.types import DeadLetter, MentionFailure
from libs.contracts.enums import Role
from libs.database import tables


async def _admin_rows(
    info: Info, what: str, table: Any, first: int, *conditions: Any, order: Sequence[Any]
) -> Sequence[Any]:
    """Read up to `first` rows of the caller's organization in `order`, for admins only."""
    if info.context.principal.role is not Role.ADMIN:
        raise ForbiddenError(f"Only an admin key may list {what}.")
    check_page_size(first)
    query = (
        select(table)
        .where(col(table.organization_id) == info.context.principal.organization_id, *conditions)
        .order_by(*order)
        .limit(first)
    )
    async with info.context.sessions() as session:
        return (await session.exec(query)).all()


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
        letter = tables.DeadLetter
        waiting = [] if include_redriven else [col(letter.redriven_at).is_(None)]
        rows = await _admin_rows(
            info,
            "dead letters",
            letter,
            first,
            *waiting,
            order=(col(letter.failed_at).desc(), col(letter.message_id)),
        )
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
        failure = tables.MentionFailure
        given_up = [col(failure.given_up_at).is_not(None)] if given_up_only else []
        rows = await _admin_rows(
            info,
            "mention failures",
            failure,
            first,
            *given_up,
            order=(col(failure.last_failed_at).desc(), col(failure.mention_id)),
        )
        return [MentionFailure.masked(row) for row in rows]
