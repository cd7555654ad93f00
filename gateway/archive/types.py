"""An incident's signed archive as clients read it: its digest, signature and where to
download its files."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime

import strawberry

from gateway.core.context import Info
from gateway.incidents.types import Incident


@strawberry.type(
    description=(
        "An incident's complete signed dossier (备案存档): timeline, statements with every "
        "review, key facts, tasks, people, audit entries, the review report with its charts "
        "and the evidence mentions. The files are downloaded over REST with the same key."
    )
)
class IncidentArchive:
    sha256: str = strawberry.field(
        description="The SHA-256 of the dossier's canonical JSON (sorted keys, no spaces)."
    )
    signature: str = strawberry.field(
        description="Base64 Ed25519 signature of the same canonical JSON bytes."
    )
    algorithm: str = strawberry.field(description="Always `Ed25519`.")
    key_id: str = strawberry.field(
        description="Which key signed it; its public key is at `signingKeyUrl`."
    )
    as_of: datetime = strawberry.field(
        description="The latest change the dossier holds; its file names carry this date."
    )
    generated_at: datetime
    file_name: str = strawberry.field(
        description="The files' stable name without extension: add `.json` or `.html`."
    )
    json_url: str = strawberry.field(description="GET it with the key: the signed JSON file.")
    html_url: str = strawberry.field(description="GET it with the key: the readable page.")
    review_report_url: str | None = strawberry.field(
        description="GET it with the key: the review report's page; null before a review."
    )
    signing_key_url: str = strawberry.field(
        description="The public key that checks the signature; no key needed."
    )
    incident_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The incident archived.")
    async def incident(self, info: Info) -> Incident | None:
        return await Incident.load(info, self.incident_id)
