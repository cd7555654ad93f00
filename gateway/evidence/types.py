"""Evidence bundles as clients read them, with their export."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import UTC, datetime

import strawberry

from gateway.core.context import Info
from gateway.core.enums import Source
from gateway.core.nodes import LoadedNode
from gateway.core.rows import FromRow, converted
from gateway.evidence.export import export
from gateway.evidence.loaders import BUNDLES, ITEMS_BY_BUNDLE
from gateway.incidents.loaders import INCIDENTS
from gateway.incidents.types import Incident
from libs.contracts.enums import EvidencePurpose

strawberry.enum(
    EvidencePurpose,
    description="Who a bundle is for: a platform's report desk (举报), legal counsel, or both.",
)


@strawberry.type(description="A mention as it was when kept as evidence.")
class EvidenceItem(FromRow):
    CONVERTED = converted(source=Source)

    mention_id: uuid.UUID = strawberry.field(
        description="The mention's databaseId; the mention itself may since have been pruned."
    )
    source: Source
    url: str | None
    text: str
    posted_at: datetime
    author_handle: str | None
    screenshot_sha256: str | None = strawberry.field(
        description="The SHA-256 of a screenshot taken of it, as given."
    )
    note: str | None
    added_by: str
    added_at: datetime


@strawberry.type(description="An evidence bundle as documents to file.")
class EvidenceExport:
    file_name: str = strawberry.field(
        description="A stable name without extension: add `.json` or `.html`."
    )
    json: str = strawberry.field(description="The bundle as canonical JSON (UTF-8 text).")
    sha256: str = strawberry.field(description="The SHA-256 of `json`, also printed in `html`.")
    html: str = strawberry.field(
        description="One standalone page (no script, nothing loaded) for people to read."
    )


@strawberry.type(
    description=(
        "Mentions kept as evidence against a rumour or defamation, with the facts that rebut "
        "them, for a platform's report desk (举报) or counsel: never a request to delete."
    )
)
class EvidenceBundle(LoadedNode):
    ROWS = BUNDLES
    CONVERTED = converted(purpose=EvidencePurpose)

    title: str
    purpose: EvidencePurpose
    debunk_facts: list[str] = strawberry.field(description="The facts that rebut the mentions.")
    created_by: str
    created_at: datetime
    updated_at: datetime
    incident_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The incident it belongs to.")
    async def incident(self, info: Info) -> Incident | None:
        return await Incident.load(info, self.incident_id)

    @strawberry.field(description="The mentions kept, in the order they were added (≤ 1000).")
    async def items(self, info: Info) -> list[EvidenceItem]:
        rows = await info.context.loaders.of(ITEMS_BY_BUNDLE).load(self.id)
        return [EvidenceItem.from_row(row) for row in rows]

    @strawberry.field(description="The bundle as JSON and HTML documents, made now.")
    async def export(self, info: Info) -> EvidenceExport | None:
        loaders = info.context.loaders
        bundle = await loaders.of(BUNDLES).load(self.id)
        incident = await loaders.of(INCIDENTS).load(self.incident_id)
        if bundle is None or incident is None:
            return None
        items = await loaders.of(ITEMS_BY_BUNDLE).load(self.id)
        made = export(bundle, list(items), incident, datetime.now(UTC))
        return EvidenceExport(
            file_name=made.file_name, json=made.document, sha256=made.sha256, html=made.html
        )
