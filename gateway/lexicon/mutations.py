"""Lexicon changes, all or nothing, applied by the analysis service."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from typing import Annotated, cast

import strawberry

from gateway.core.commands import perform
from gateway.core.context import Info
from gateway.core.errors import Forbidden, InvalidInput, or_why_not
from gateway.lexicon.types import SensitiveTermsChanged, SetSensitiveTermsInput
from libs.contracts.messages import CommandResult, SetSensitiveTerms

SetSensitiveTermsResult = Annotated[
    SensitiveTermsChanged | InvalidInput | Forbidden,
    or_why_not("SetSensitiveTermsResult", "The lexicon change as applied"),
]


async def _changed(info: Info, result: CommandResult) -> SensitiveTermsChanged:
    """Answer the terms the analysis service upserted and removed."""
    return SensitiveTermsChanged(
        upserted=[str(term) for term in result.data.get("upserted", [])],
        removed=[str(term) for term in result.data.get("removed", [])],
    )


@strawberry.type
class LexiconMutation:
    @strawberry.mutation(
        description=(
            "Add, change or disable sensitive terms, and drop earlier changes; all or nothing."
        )
    )
    async def set_sensitive_terms(
        self, info: Info, input: SetSensitiveTermsInput
    ) -> SetSensitiveTermsResult:
        answer = await perform(
            info,
            # Validated as one document, so a refusal names its place, e.g. `upsert[2].weight`.
            SetSensitiveTerms,
            _changed,
            accept=(InvalidInput,),
            upsert=[
                {"term": entry.term, "category": entry.category, "weight": entry.weight}
                for entry in input.upsert
            ],
            remove=input.remove,
        )
        return cast(SensitiveTermsChanged | InvalidInput | Forbidden, answer)
