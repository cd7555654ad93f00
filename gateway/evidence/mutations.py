"""Evidence bundles: created and added to by the incidents service."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from typing import Annotated, cast

import strawberry
from strawberry import relay

from gateway.core.commands import Change, Target, created, perform, reread
from gateway.core.context import Info
from gateway.core.errors import Forbidden, InvalidInput, NotFound, or_why_not
from gateway.core.inputs import require_id
from gateway.evidence.types import EvidenceBundle
from libs.contracts.enums import EvidencePurpose
from libs.contracts.response import AddEvidence, CreateEvidenceBundle
from libs.database import tables

EvidenceBundleResult = Annotated[
    EvidenceBundle | InvalidInput | NotFound | Forbidden,
    or_why_not("EvidenceBundleResult", "The evidence bundle"),
]


@strawberry.input(description="A mention to keep as evidence.")
class EvidenceItemInput:
    mention_id: relay.GlobalID
    screenshot_sha256: str | None = strawberry.field(
        default=None, description="Lowercase hex SHA-256 of a screenshot taken of it."
    )
    note: str | None = None


@strawberry.input(description="A new evidence bundle of an incident.")
class CreateEvidenceBundleInput:
    incident_id: relay.GlobalID
    title: str
    purpose: EvidencePurpose
    debunk_facts: list[str] = strawberry.field(
        default_factory=list, description="The facts that rebut the mentions (at most 50)."
    )
    items: list[EvidenceItemInput] = strawberry.field(
        default_factory=list, description="At most 500 at a time; a bundle holds 1000."
    )


@strawberry.input(description="Mentions to add to an evidence bundle.")
class AddEvidenceInput:
    bundle_id: relay.GlobalID
    items: list[EvidenceItemInput]


def _items(items: list[EvidenceItemInput]) -> list[dict[str, object]]:
    return [
        {
            "mention_id": require_id(item.mention_id, "Mention", f"items[{n}].mentionId"),
            "screenshot_sha256": item.screenshot_sha256,
            "note": item.note,
        }
        for n, item in enumerate(items)
    ]


BUNDLE = Target(tables.EvidenceBundle, "EvidenceBundle", "evidence bundle", "bundle_id")
ADD = Change(
    BUNDLE,
    reread(tables.EvidenceBundle, EvidenceBundle.from_row, "EvidenceBundle"),
    accept=(InvalidInput, NotFound),
)


@strawberry.type
class EvidenceMutation:
    @strawberry.mutation(
        description=(
            "Gather an incident's mentions and the facts that rebut them into a bundle for a "
            "platform's report desk (举报) or counsel; each mention is copied as it is now."
        )
    )
    async def create_evidence_bundle(
        self, info: Info, input: CreateEvidenceBundleInput
    ) -> EvidenceBundleResult:
        answer = await perform(
            info,
            CreateEvidenceBundle,
            created(tables.EvidenceBundle, EvidenceBundle.from_row, "EvidenceBundle"),
            accept=(InvalidInput, NotFound),
            incident_id=require_id(input.incident_id, "Incident", "incidentId"),
            title=input.title,
            purpose=input.purpose,
            debunk_facts=input.debunk_facts,
            items=_items(input.items),
        )
        return cast(EvidenceBundle | InvalidInput | NotFound | Forbidden, answer)

    @strawberry.mutation(description="Add mentions to a bundle; one it holds stays as kept.")
    async def add_evidence(self, info: Info, input: AddEvidenceInput) -> EvidenceBundleResult:
        answer = await ADD(info, input.bundle_id, AddEvidence, items=_items(input.items))
        return cast(EvidenceBundle | InvalidInput | NotFound | Forbidden, answer)
