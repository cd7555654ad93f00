"""Who may take which archive file, and the file: shared by GraphQL and the REST routes."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.archive.document import Archive, make_archive
from gateway.archive.dossier import (
    commanders_of,
    could_archive,
    gather,
    incident_of,
    may_archive,
    review_of,
)
from gateway.archive.signed import NoSigningKeyError, signer_for
from gateway.config import GatewaySettings
from libs.auth.keys import Principal
from libs.documents.review import ReviewDocument


class Refused(Enum):
    """Why no file: no such incident in the caller's organization (also for another's, so
    nothing tells them apart), a caller who may not take it, or no signing key."""

    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    UNSIGNABLE = "unsignable"


@dataclass(frozen=True)
class Reader:
    """A caller with what it reads through."""

    principal: Principal
    sessions: async_sessionmaker[AsyncSession]
    settings: GatewaySettings


async def take_archive(reader: Reader, incident_id: uuid.UUID, now: datetime) -> Archive | Refused:
    """Return the signed archive of an incident, or why not."""
    # Refused before any lookup: a key that could never archive learns nothing of ids.
    if not could_archive(reader.principal):
        return Refused.FORBIDDEN
    try:
        signer = signer_for(reader.settings)
    except NoSigningKeyError:
        return Refused.UNSIGNABLE
    async with reader.sessions() as session:
        incident = await incident_of(session, reader.principal.organization_id, incident_id)
        if incident is None:
            return Refused.NOT_FOUND
        if not may_archive(reader.principal, await commanders_of(session, incident)):
            return Refused.FORBIDDEN
        dossier = await gather(session, incident)
    return make_archive(dossier, signer, now)


async def take_review(reader: Reader, incident_id: uuid.UUID) -> ReviewDocument | Refused:
    """Return an incident's review for any reader of the organization, or why not."""
    if not reader.principal.can_read():
        return Refused.FORBIDDEN
    async with reader.sessions() as session:
        incident = await incident_of(session, reader.principal.organization_id, incident_id)
        review = await review_of(session, incident) if incident is not None else None
    return review if review is not None else Refused.NOT_FOUND
