"""Suggesting a statement and setting templates: commands to the incidents service."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from typing import Annotated, cast

import strawberry
from strawberry import relay

from gateway.core.commands import created, perform
from gateway.core.context import Info
from gateway.core.enums import Channel, CrisisType
from gateway.core.errors import Forbidden, InvalidInput, NotFound, or_why_not
from gateway.core.inputs import input_fields, require_id
from gateway.drafts.types import StatementSuggestion, StatementTemplate, SuggestionFlag
from libs.contracts.enums import StatementStage
from libs.contracts.messages import CommandResult
from libs.contracts.response import SetStatementTemplate, SuggestStatement
from libs.database import tables

SuggestionResult = Annotated[
    StatementSuggestion | NotFound | InvalidInput | Forbidden,
    or_why_not("StatementSuggestionResult", "The suggested statement"),
]
TemplateResult = Annotated[
    StatementTemplate | InvalidInput | Forbidden,
    or_why_not("StatementTemplateResult", "The new template version"),
]


@strawberry.input(description="Which statement to suggest.")
class DraftStatementSuggestionInput:
    incident_id: relay.GlobalID
    channel: Channel
    stage: StatementStage | None = strawberry.field(
        default=None,
        description=(
            "Null: the stage the incident is at on the channel — the closing notice once it "
            "recovers, a detailed reply once the channel published, else the first response."
        ),
    )


@strawberry.input(description="A new version of one of your organization's templates.")
class SetStatementTemplateInput:
    stage: StatementStage
    channel: Channel
    crisis_type: CrisisType | None = strawberry.field(
        default=None, description="Null: for every crisis type without its own."
    )
    body: str = strawberry.field(
        description=(
            "Text with `{{标签}}` slots: a key fact's label, 品牌, 日期, or 关键事实 (every key "
            "fact, which keeps channels consistent). A text advising deleting posts is refused."
        )
    )


async def _suggestion(info: Info, result: CommandResult) -> StatementSuggestion:
    data = result.data
    return StatementSuggestion(
        stage=StatementStage(data["stage"]),
        channel=Channel(data["channel"]),
        text=data["text"],
        missing_facts=list(data["missing_facts"]),
        flags=[SuggestionFlag.of(flag) for flag in data["flags"]],
        fit_problems=list(data["fit_problems"]),
        from_organization_template=data["template_source"] == "organization",
        template_version=data["template_version"],
    )


@strawberry.type
class DraftMutation:
    @strawberry.mutation(
        description=(
            "Draft a statement for a channel from the templates and the incident's key facts "
            "(自动化声明生成器), checked for consistency with the other channels; nothing is "
            "stored. Facts still missing are listed and marked in the text."
        )
    )
    async def draft_statement_suggestion(
        self, info: Info, input: DraftStatementSuggestionInput
    ) -> SuggestionResult:
        answer = await perform(
            info,
            SuggestStatement,
            _suggestion,
            accept=(NotFound, InvalidInput),
            incident_id=require_id(input.incident_id, "Incident", "incidentId"),
            channel=input.channel,
            stage=input.stage,
        )
        return cast(StatementSuggestion | NotFound | InvalidInput | Forbidden, answer)

    @strawberry.mutation(
        description=(
            "Give your organization its own statement template for a stage and channel (and "
            "crisis type); each call is a new version, the newest is used. Admin keys only."
        )
    )
    async def set_statement_template(
        self, info: Info, input: SetStatementTemplateInput
    ) -> TemplateResult:
        answer = await perform(
            info,
            SetStatementTemplate,
            created(tables.StatementTemplate, StatementTemplate.from_row, "StatementTemplate"),
            manage="statement templates",
            accept=(InvalidInput,),
            **input_fields(input),
        )
        return cast(StatementTemplate | InvalidInput | Forbidden, answer)
