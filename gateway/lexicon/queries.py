"""The organization's own lexicon changes, by term in code point order."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import strawberry
from sqlmodel import col

from gateway.core.connection import Connection, fetch_connection
from gateway.core.context import Info
from gateway.core.owned import every
from gateway.core.pagination import Ordering, PageRequest, page_select
from gateway.lexicon.types import SensitiveTerm
from libs.database import tables

term = tables.SensitiveTerm
# Code point order, the same whatever the database's collation.
BY_TERM = Ordering("TERM", col(term.term).collate("C"), str, descending=False)
REMOVAL = "removal on 2027-06-30"


@strawberry.type
class LexiconQuery:
    @strawberry.field(
        description=(
            "Your organization's own changes to the sensitive-term lexicon (敏感词库), by term "
            "(code point order). "
            "The built-in default lexicon still applies on top of these for every term not "
            "listed; a weight of 0 disables a default term."
        ),
        deprecation_reason=f"Use sensitiveTermsConnection; {REMOVAL}",
    )
    async def sensitive_terms(self, info: Info) -> list[SensitiveTerm]:
        rows = await every(info, term, BY_TERM.key)
        return [SensitiveTerm.from_row(row) for row in rows]

    @strawberry.field(
        description=(
            "Your organization's own changes to the sensitive-term lexicon (敏感词库), by term "
            "(code point order), page by page; the built-in default lexicon applies to every "
            "term not listed."
        )
    )
    async def sensitive_terms_connection(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[SensitiveTerm]:
        request = PageRequest.of(first, after, last, before)
        statement = page_select(term, BY_TERM).where(
            col(term.organization_id) == info.context.principal.organization_id
        )
        return await fetch_connection(
            info,
            (statement, BY_TERM),
            SensitiveTerm.from_row,
            kind="sensitive-term",
            id_column=col(term.id),
            request=request,
        )
