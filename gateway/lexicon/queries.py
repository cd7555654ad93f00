"""The organization's own lexicon changes, by term in code point order."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import strawberry
from sqlmodel import col, select

from gateway.core.context import Info
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
        statement = (
            select(term)
            .where(col(term.organization_id) == info.context.principal.organization_id)
            # Code point order, the same whatever the database's collation.
            .order_by(col(term.term).collate("C"))
        )
        async with info.context.sessions() as session:
            rows = (await session.exec(statement)).all()
        return [SensitiveTerm.from_row(row) for row in rows]
