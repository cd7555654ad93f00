"""`POST /v1/complaints` and `GET /v1/complaints/{complaint_id}`."""

import logging
import uuid

from fastapi import APIRouter, Request, Response

from libs.database.tables._types import utcnow
from services.ingest.auth import IngestingPrincipal, ReadingPrincipal
from services.ingest.body import parse_body, read_body
from services.ingest.complaints import service
from services.ingest.complaints.schemas import ComplaintIn, ComplaintOut
from services.ingest.dependencies import ResourcesDep, SessionDep
from services.ingest.idempotency.http import IdempotencyKey, respond
from services.ingest.openapi import (
    ERRORS,
    IDEMPOTENCY_ERRORS,
    QUOTA_ERRORS,
    REPLAYED,
    component_ref,
    json_body,
    not_found,
)
from services.ingest.problems import found
from services.ingest.rate_headers import RateLimitedRoute
from services.ingest.schemas import Problem

COMPLAINTS_ROUTE = "POST /v1/complaints"

log = logging.getLogger(__name__)
router = APIRouter(route_class=RateLimitedRoute)


@router.post(
    "/v1/complaints",
    status_code=201,
    response_model=ComplaintOut,
    responses={
        **ERRORS,
        **IDEMPOTENCY_ERRORS,
        **QUOTA_ERRORS,
        201: {"description": "The complaint was stored.", "headers": REPLAYED},
        200: {
            "model": ComplaintOut,
            "description": "A complaint with this `external_id` already exists; it is "
            "answered unchanged.",
            "headers": REPLAYED,
        },
        503: {
            "model": Problem,
            "description": "Contacts were sent but the service has no data key to "
            "encrypt them (field `contacts`).",
        },
    },
    openapi_extra=json_body(component_ref(ComplaintIn)),
)
async def create_complaint(
    request: Request,
    held: ResourcesDep,
    principal: IngestingPrincipal,
    idempotency_key: IdempotencyKey,
) -> Response:
    """Store a customer complaint as a mention to analyse, with its contacts encrypted.

    The text is stored with phone numbers, e-mail addresses and ID numbers masked;
    contacts are stored only encrypted and answered only masked.
    """
    body = await read_body(request)
    organization_id = principal.organization_id

    async def run() -> tuple[int, ComplaintOut]:
        complaint = parse_body(body, ComplaintIn, "a JSON object")
        async with held.storing_unit_of_work() as work:
            stored, outcome = await service.create_complaint(
                work.session, organization_id, complaint, held.contact_key, utcnow(), held.volume
            )
            work.apply(outcome)
        log.info(
            "complaint %s from customer %s via %s %s",
            stored.complaint.id,
            stored.complaint.customer_ref,
            complaint.channel.value,
            "stored" if stored.created else "already existed",
        )
        return (201 if stored.created else 200), stored.complaint

    return await respond(
        held.sessions, organization_id, idempotency_key, COMPLAINTS_ROUTE, body, run
    )


@router.get(
    "/v1/complaints/{complaint_id}", response_model=ComplaintOut, responses=not_found("complaint")
)
async def read_complaint(
    complaint_id: uuid.UUID, principal: ReadingPrincipal, session: SessionDep
) -> ComplaintOut:
    """Return a complaint of the caller's organization, personal data masked."""
    return found(
        await service.get_complaint(session, principal.organization_id, complaint_id),
        "complaint",
        complaint_id,
    )
