"""An organization's sensitive terms as clients read and change them."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime

import strawberry

from gateway.core.enums import SensitiveCategory
from gateway.core.rows import FromRow, converted


@strawberry.type(description="An organization's change to one term of the sensitive lexicon.")
class SensitiveTerm(FromRow):
    CONVERTED = converted(category=SensitiveCategory)

    term: str
    category: SensitiveCategory
    weight: float = strawberry.field(description="From 0 to 1; 0 disables a default term.")
    updated_at: datetime


@strawberry.input(description="One term of your sensitive-term lexicon.")
class SensitiveTermInput:
    term: str
    category: SensitiveCategory
    weight: float = strawberry.field(description="From 0 to 1; 0 disables a default term.")


@strawberry.input(
    description="Add or change terms, and drop earlier changes (the term reverts to the default)."
)
class SetSensitiveTermsInput:
    upsert: list[SensitiveTermInput] = strawberry.field(default_factory=list)
    remove: list[str] = strawberry.field(default_factory=list)


@strawberry.type(description="What a lexicon change applied, as the analysis service stored it.")
class SensitiveTermsChanged:
    upserted: list[str] = strawberry.field(description="Terms added or changed, normalized.")
    removed: list[str] = strawberry.field(description="Terms whose change was dropped.")
