"""Lexicon changes, all or nothing, applied by the analysis service."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from typing import Annotated, cast

import strawberry

from gateway.core.commands import forbidden, run
from gateway.core.context import Info
from gateway.core.errors import Forbidden, InvalidInput
from gateway.lexicon.types import SensitiveTermsChanged, SetSensitiveTermsInput
from libs.contracts.messages import CommandResult, SetSensitiveTerms

SetSensitiveTermsResult = Annotated[
    SensitiveTermsChanged | InvalidInput | Forbidden,
    strawberry.union(
        "SetSensitiveTermsResult", description="The lexicon change as applied, or why not."
    ),
]


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
        if (refusal := forbidden(info)) is not None:
            return refusal
        result = await run(
            info,
            # Validated as one document, so a refusal names its place, e.g. `upsert[2].weight`.
            SetSensitiveTerms,
            accept=(InvalidInput,),
            upsert=[
                {"term": entry.term, "category": entry.category, "weight": entry.weight}
                for entry in input.upsert
            ],
            remove=input.remove,
        )
        if not isinstance(result, CommandResult):
            return cast(InvalidInput, result)
        return SensitiveTermsChanged(
            upserted=[str(term) for term in result.data.get("upserted", [])],
            removed=[str(term) for term in result.data.get("removed", [])],
        )
