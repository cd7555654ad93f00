"""Sending a situation report: a command to the incidents service."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from typing import Annotated, cast

import strawberry
from strawberry import relay

from gateway.core.commands import Change, Target, reread
from gateway.core.context import Info
from gateway.core.errors import Conflict, Forbidden, InvalidInput, NotFound, or_why_not
from gateway.core.inputs import input_fields
from gateway.sitreps.types import SituationReport
from libs.contracts.response import SendSituationReport
from libs.database import tables

SendSituationReportResult = Annotated[
    SituationReport | InvalidInput | NotFound | Conflict | Forbidden,
    or_why_not("SendSituationReportResult", "The sent report"),
]


@strawberry.input(
    description="A drafted report to send; a part given here replaces the drafted one."
)
class SendSituationReportInput:
    id: relay.GlobalID
    conditions: list[str] | None = None
    actions: list[str] | None = None
    needs: list[str] | None = None
    overview: str | None = None
    next_steps: list[str] | None = None


SEND = Change(
    Target(tables.SituationReport, "SituationReport", "situation report", "report_id"),
    reread(tables.SituationReport, SituationReport.from_row, "SituationReport"),
    accept=(InvalidInput, NotFound, Conflict),
)


@strawberry.type
class SituationReportMutation:
    @strawberry.mutation(
        description=(
            "Send a drafted situation report, as edited, to the team's chat and webhooks "
            "(`situation_report.sent`); a report already sent answers Conflict."
        )
    )
    async def send_situation_report(
        self, info: Info, input: SendSituationReportInput
    ) -> SendSituationReportResult:
        fields = input_fields(input, but=("id",))
        answer = await SEND(info, input.id, SendSituationReport, **fields)
        return cast(SituationReport | InvalidInput | NotFound | Conflict | Forbidden, answer)
