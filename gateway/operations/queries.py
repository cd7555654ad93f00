"""Dead letters and mention failures of the caller's organization, for admins only: plain
lists of the newest (deprecated) and connections that page through all of them."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import String, cast, func
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import UUID
from sqlmodel import col, select

from gateway.core.connection import Connection, fetch_connection
from gateway.core.context import Info
from gateway.core.errors import ForbiddenError
from gateway.core.pagination import Ordering, PageRequest, page_select
from gateway.core.reads import plain_columns
from gateway.operations.types import DeadLetter, MentionFailure
from libs.contracts.enums import Role
from libs.database import tables

letter, failure = tables.DeadLetter, tables.MentionFailure
REMOVAL = "removal on 2027-06-30"
# A dead letter is one (consumer, message) pair: the cursor's id is a UUID made of both.
LETTER_KEY = cast(
    func.md5(col(letter.consumer) + ":" + cast(col(letter.message_id), String)), UUID(as_uuid=True)
).label("letter_key")
LETTER_ORDER = Ordering("FAILED_AT", col(letter.failed_at), datetime)
FAILURE_ORDER = Ordering("LAST_FAILED_AT", col(failure.last_failed_at), datetime)


def _admin_only(info: Info, what: str) -> None:
    if info.context.principal.role is not Role.ADMIN:
        raise ForbiddenError(f"Only an admin key may list {what}.")


async def _admin_rows(
    info: Info, what: str, table: Any, first: int, *conditions: Any, order: Sequence[Any]
) -> Sequence[Any]:
    """Read up to `first` rows of the caller's organization in `order`, for admins only."""
    _admin_only(info, what)
    PageRequest.of(first)
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
        ),
        deprecation_reason=f"Use deadLettersConnection; {REMOVAL}",
    )
    async def dead_letters(
        self, info: Info, first: int = 50, include_redriven: bool = False
    ) -> list[DeadLetter]:
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
        ),
        deprecation_reason=f"Use mentionFailuresConnection; {REMOVAL}",
    )
    async def mention_failures(
        self, info: Info, first: int = 50, given_up_only: bool = False
    ) -> list[MentionFailure]:
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

    @strawberry.field(
        description=(
            "Messages your organization's services could not apply, the newest failure "
            "first, page by page. Only those waiting for an operator unless "
            "`includeRedriven`. Admin only."
        )
    )
    async def dead_letters_connection(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        include_redriven: bool = False,
    ) -> Connection[DeadLetter]:
        request = PageRequest.of(first, after, last, before)
        _admin_only(info, "dead letters")
        # The payload is never read: it can hold what the message carried (contacts).
        shown = plain_columns(letter, omit=(letter.payload,))
        statement = core_select(*shown, LETTER_KEY, LETTER_ORDER.key.label("sort_key")).where(
            col(letter.organization_id) == info.context.principal.organization_id
        )
        if not include_redriven:
            statement = statement.where(col(letter.redriven_at).is_(None))
        return await fetch_connection(
            info,
            (statement, LETTER_ORDER),
            DeadLetter.from_row,
            kind="dead-letter",
            id_column=LETTER_KEY,
            request=request,
        )

    @strawberry.field(
        description=(
            "Mentions of your organization not analysed yet that need attention, the most "
            "recent failure first, page by page; only those given up if `givenUpOnly`. "
            "Admin only."
        )
    )
    async def mention_failures_connection(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        given_up_only: bool = False,
    ) -> Connection[MentionFailure]:
        request = PageRequest.of(first, after, last, before)
        _admin_only(info, "mention failures")
        statement = page_select(failure, FAILURE_ORDER).where(
            col(failure.organization_id) == info.context.principal.organization_id
        )
        if given_up_only:
            statement = statement.where(col(failure.given_up_at).is_not(None))
        return await fetch_connection(
            info,
            (statement, FAILURE_ORDER),
            MentionFailure.masked,
            kind="mention-failure",
            id_column=col(failure.mention_id),
            request=request,
        )
