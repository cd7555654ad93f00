"""The incident archive: its digest, signature and download links."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import UTC, datetime

import strawberry
from strawberry import relay

from gateway.archive.rest import PREFIX, SIGNING_KEY_PATH
from gateway.archive.service import Reader, Refused, take_archive
from gateway.archive.types import IncidentArchive
from gateway.core.context import Info
from gateway.core.errors import ForbiddenError, ServiceUnavailableError
from gateway.core.inputs import local_id
from libs.documents.signing import ALGORITHM


@strawberry.type
class ArchiveQuery:
    @strawberry.field(
        description=(
            "An incident's signed archive (备案存档); null if not in your organization. Only "
            "an admin key, or one acting for the incident's commander, may take it."
        )
    )
    async def incident_archive(self, info: Info, id: relay.GlobalID) -> IncidentArchive | None:
        incident_id = local_id(id, "Incident")
        if incident_id is None:
            return None
        context = info.context
        reader = Reader(context.principal, context.sessions, context.settings)
        taken = await take_archive(reader, incident_id, datetime.now(UTC))
        if taken is Refused.FORBIDDEN:
            raise ForbiddenError("Only an admin key or the incident's commander may archive it.")
        if taken is Refused.UNSIGNABLE:
            raise ServiceUnavailableError("ARCHIVE_SIGNING_KEY is not set: nothing can be signed.")
        if isinstance(taken, Refused):
            return None
        base = PREFIX.format(incident_id=incident_id)
        return IncidentArchive(
            sha256=taken.sha256,
            signature=taken.signature,
            algorithm=ALGORITHM,
            key_id=taken.key_id,
            as_of=taken.as_of,
            generated_at=taken.generated_at,
            file_name=taken.file_stem,
            json_url=f"{base}/archive.json",
            html_url=f"{base}/archive.html",
            review_report_url=f"{base}/review-report.html" if taken.has_review else None,
            signing_key_url=SIGNING_KEY_PATH,
            incident_id=incident_id,
        )
