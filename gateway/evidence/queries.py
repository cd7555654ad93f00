"""Evidence bundles: by id, and as a list."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import strawberry
from strawberry import relay

from gateway.core.context import Info
from gateway.core.filters import equals, names
from gateway.core.inputs import local_id
from gateway.core.listing import Key, ListSpec, Sorting
from gateway.evidence.types import EvidenceBundle
from libs.contracts.enums import EvidencePurpose
from libs.database import tables

bundle = tables.EvidenceBundle


@strawberry.input(description="Narrow an evidence-bundle list; every given condition must hold.")
class EvidenceBundleFilter:
    incident_id: relay.GlobalID | None = names(bundle.incident_id, "Incident")
    purpose: EvidencePurpose | None = equals(bundle.purpose)


BUNDLE_ORDER = Sorting("Sort evidence bundles.", CREATED_AT=Key.time(bundle.created_at))
BUNDLE_LIST = ListSpec(
    EvidenceBundle, EvidenceBundleFilter, BUNDLE_ORDER, noun="an evidence-bundle list"
)


@strawberry.type
class EvidenceQuery:
    @strawberry.field(
        description="One evidence bundle by its global id; null if not in your organization."
    )
    async def evidence_bundle(self, info: Info, id: relay.GlobalID) -> EvidenceBundle | None:
        return await EvidenceBundle.load(info, local_id(id, "EvidenceBundle"))

    evidence_bundles = BUNDLE_LIST.connection_field(
        "Evidence bundles of your organization's incidents, the newest first unless "
        "`orderBy` says otherwise."
    )
