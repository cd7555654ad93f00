"""The organization's own lexicon changes, by term in code point order."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import strawberry
from sqlmodel import col

from gateway.core.context import Info
from gateway.core.owned import every
from gateway.lexicon.types import SensitiveTerm
from libs.database import tables


@strawberry.type
class LexiconQuery:
    @strawberry.field(
        description=(
            "Your organization's own changes to the sensitive-term lexicon (敏感词库), by term "
            "(code point order). "
            "The built-in default lexicon still applies on top of these for every term not "
            "listed; a weight of 0 disables a default term."
        )
    )
    async def sensitive_terms(self, info: Info) -> list[SensitiveTerm]:
        term = tables.SensitiveTerm
        # Code point order, the same whatever the database's collation.
        rows = await every(info, term, col(term.term).collate("C"))
        return [SensitiveTerm.from_row(row) for row in rows]
