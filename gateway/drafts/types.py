"""A statement suggestion and the organization's statement templates, as clients read them."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime
from enum import StrEnum
from typing import Any

import strawberry

from gateway.core.enums import Channel, CrisisType
from gateway.core.nodes import LoadedNode
from gateway.core.rows import converted
from gateway.drafts.loaders import TEMPLATES
from libs.contracts.enums import StatementStage

strawberry.enum(
    StatementStage,
    description=(
        "Which statement of an incident's life: the first response (初步回应), the detailed "
        "reply, or the closing notice of improvements (整改公告)."
    ),
)


@strawberry.enum(description="Why the consistency check flags a text (一致性原则).")
class SuggestionFlagKind(StrEnum):
    MISSING_FACT = "missing_fact"
    CONFLICT = "conflict"


@strawberry.type(description="What the consistency check found in a suggested text.")
class SuggestionFlag:
    kind: SuggestionFlagKind
    label: str | None = strawberry.field(description="The key fact missing (MISSING_FACT).")
    unit: str | None = strawberry.field(description="The unit the figures disagree in.")
    expected: str | None = strawberry.field(
        description="The fact's value, or what the other channel states."
    )
    found: str | None = strawberry.field(description="What the text states instead.")
    channel: str | None = strawberry.field(description="The channel it disagrees with.")

    @classmethod
    def of(cls, flag: dict[str, Any]) -> "SuggestionFlag":
        def shown(key: str) -> str | None:
            value = flag.get(key)
            return None if value is None else str(value)

        return cls(
            kind=SuggestionFlagKind(flag["kind"]),
            label=shown("label"),
            unit=shown("unit"),
            expected=shown("expected"),
            found=shown("found"),
            channel=shown("channel"),
        )


@strawberry.type(
    description=(
        "A statement drafted from a template and the incident's key facts, checked like a "
        "drafted statement; nothing is stored. Revise it, then `draftStatement`."
    )
)
class StatementSuggestion:
    stage: StatementStage
    channel: Channel
    text: str
    missing_facts: list[str] = strawberry.field(
        description=(
            "Key facts the template asks for that are not set yet (shown in the text as "
            "【待补充：标签】); set them with `setKeyFacts`."
        )
    )
    flags: list[SuggestionFlag] = strawberry.field(
        description="What the consistency check flags against the other channels' statements."
    )
    fit_problems: list[str] = strawberry.field(
        description="Why the text does not fit the channel (length, title, spoken seconds)."
    )
    from_organization_template: bool = strawberry.field(
        description="false: the built-in template was used."
    )
    template_version: int | None


@strawberry.type(description="One version of your organization's own statement template.")
class StatementTemplate(LoadedNode):
    ROWS = TEMPLATES
    CONVERTED = converted(
        stage=StatementStage,
        channel=Channel,
        crisis_type=lambda v: None if v == "any" else CrisisType(v),
    )

    stage: StatementStage
    channel: Channel
    crisis_type: CrisisType | None = strawberry.field(description="Null: every crisis type.")
    version: int
    body: str = strawberry.field(
        description="The text with `{{标签}}` slots: key-fact labels, 品牌, 日期, 关键事实."
    )
    created_by: str
    created_at: datetime
