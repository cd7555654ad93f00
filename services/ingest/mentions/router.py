"""`POST /v1/mentions` and `GET /v1/mentions/{mention_id}`."""

import time
import uuid

from fastapi import APIRouter, Request, Response

from libs.metrics.definitions import INGEST_BATCH_SECONDS, INGEST_ITEMS
from services.ingest.auth import IngestingPrincipal, ReadingPrincipal
from services.ingest.body import parse_body, read_body
from services.ingest.dependencies import ResourcesDep, SessionDep
from services.ingest.idempotency.http import IdempotencyKey, respond
from services.ingest.mentions import service
from services.ingest.mentions.schemas import BatchResult, Envelope, MentionBatchIn, MentionOut
from services.ingest.openapi import (
    ERRORS,
    IDEMPOTENCY_ERRORS,
    QUOTA_ERRORS,
    REPLAYED,
    inline_schema,
    json_body,
    not_found,
)
from services.ingest.problems import found
from services.ingest.rate_headers import RateLimitedRoute

MENTIONS_ROUTE = "POST /v1/mentions"

router = APIRouter(route_class=RateLimitedRoute)


@router.post(
    "/v1/mentions",
    status_code=202,
    response_model=BatchResult,
    responses={**ERRORS, **IDEMPOTENCY_ERRORS, **QUOTA_ERRORS, 202: {"headers": REPLAYED}},
    openapi_extra=json_body(inline_schema(MentionBatchIn)),
)
async def push_mentions(
    request: Request,
    held: ResourcesDep,
    principal: IngestingPrincipal,
    idempotency_key: IdempotencyKey,
) -> Response:
    """Store a batch of 1–1000 mentions; each item is accepted, a duplicate, or rejected."""
    body = await read_body(request)
    organization_id = principal.organization_id

    async def run() -> tuple[int, BatchResult]:
        envelope = parse_body(body, Envelope, "an object with `mentions`")
        started = time.perf_counter()
        async with held.storing_unit_of_work() as work:
            answer, outcome = await service.push_mentions(
                work.session, organization_id, envelope, held.volume
            )
            work.apply(outcome)
        # Counted once committed: a push that failed (503) is counted when it is sent again.
        INGEST_BATCH_SECONDS.observe(time.perf_counter() - started)
        for label, count in (
            ("accepted", answer.accepted),
            ("duplicate", answer.duplicates),
            ("rejected", answer.rejected),
        ):
            INGEST_ITEMS.labels(outcome=label).inc(count)
        return 202, answer

    return await respond(held.sessions, organization_id, idempotency_key, MENTIONS_ROUTE, body, run)


@router.get("/v1/mentions/{mention_id}", response_model=MentionOut, responses=not_found("mention"))
async def read_mention(
    mention_id: uuid.UUID, principal: ReadingPrincipal, session: SessionDep
) -> MentionOut:
    """Return a mention of the caller's organization and its analysis once done."""
    return found(
        await service.get_mention(session, principal.organization_id, mention_id),
        "mention",
        mention_id,
    )
