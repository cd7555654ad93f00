"""The `Idempotency-Key` header of a POST and the answer it gets: fresh, replayed or refused."""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables._types import utcnow
from services.ingest.idempotency.repository import COMPLETED
from services.ingest.idempotency.service import (
    CLAIM_LEASE,
    HEADER,
    MAX_KEY_LENGTH,
    REQUEST_DEADLINE,
    Claim,
    Existing,
    check_key,
    claim,
    complete,
    release,
    request_hash,
)
from services.ingest.problems import (
    OUTAGE_RETRY_AFTER_SECONDS,
    PROBLEM_JSON,
    ProblemError,
    problem_response,
)
from services.ingest.schemas import FieldError, Problem

REPLAYED_HEADER = "Idempotent-Replayed"
RETRY_AFTER_SECONDS = 1
# Releasing a claim after a failure gets what is left of the lease past the deadline.
RELEASE_SECONDS = (CLAIM_LEASE - REQUEST_DEADLINE).total_seconds() / 2

log = logging.getLogger(__name__)

Action = Callable[[], Awaitable[tuple[int, BaseModel]]]


async def _key_header(
    value: Annotated[
        str | None,
        Header(
            alias=HEADER,
            description=(
                "Optional. A unique value per logical request (a UUID is ideal), 1–255 "
                "printable ASCII characters. A retry with the same key and body within 24 "
                "hours replays the first answer with `Idempotent-Replayed: true`; the same "
                "key with another body is refused (422); while the first request still "
                "runs, a retry gets 409 with `Retry-After`."
            ),
            examples=["5f0c8f0e-2b7a-4d7e-9a51-1d3f5b8c9e21"],
            json_schema_extra={
                "minLength": 1,
                "maxLength": MAX_KEY_LENGTH,
                "pattern": "^[\\x20-\\x7e]+$",
            },
        ),
    ] = None,
) -> str | None:
    return check_key(value)


IdempotencyKey = Annotated[str | None, Depends(_key_header)]
"""The validated `Idempotency-Key` header of a request (None when not sent)."""


async def respond(
    sessions: async_sessionmaker[AsyncSession],
    organization_id: uuid.UUID,
    key: str | None,
    route: str,
    body: bytes,
    action: Action,
    *,
    now: datetime | None = None,
) -> Response:
    """Run `action` at most once per key and body; answer with its result or the stored one.

    `action` returns the status and the response model; it raises (typically ProblemError)
    to refuse, which releases the key and answers as usual. A keyed request runs under
    `REQUEST_DEADLINE` from its claim to its stored answer, so its claim never outlives it
    by more than `CLAIM_LEASE`; past the deadline it answers 503 with `Retry-After`.
    """
    if key is None:
        status, result = await action()
        return JSONResponse(result.model_dump(mode="json"), status_code=status)
    hashed = request_hash(route, body)
    deadline = asyncio.timeout(REQUEST_DEADLINE.total_seconds())
    try:
        async with deadline:
            held = await claim(sessions, organization_id, key, route, hashed, now or utcnow())
            if isinstance(held, Existing):
                return _answer_existing(held, route, hashed)
            return await _run_claimed(sessions, held, action)
    except TimeoutError:
        if not deadline.expired():
            raise  # a timeout of the work's own (a connect), not the deadline
        raise _cut_off() from None


async def _run_claimed(
    sessions: async_sessionmaker[AsyncSession], held: Claim, action: Action
) -> Response:
    """Run the work of a claimed key; store its answer, or release the key if it failed."""
    try:
        status, result = await action()
    except BaseException:
        await _release(sessions, held)
        raise
    document = result.model_dump(mode="json")
    if status >= 500:
        await _release(sessions, held)
    else:
        await complete(sessions, held, status, document)
    return JSONResponse(document, status_code=status)


async def _release(sessions: async_sessionmaker[AsyncSession], held: Claim) -> None:
    """Release the claim if PostgreSQL lets us soon; otherwise it lapses at its lease.

    Called while a failure is on its way out, so a failure to release is logged, never
    allowed to replace the answer the request gets.
    """
    try:
        async with asyncio.timeout(RELEASE_SECONDS):
            await release(sessions, held)
    except Exception as exc:
        log.warning(
            "could not release idempotency key claim (%s); it lapses in %d s",
            type(exc).__name__,
            CLAIM_LEASE.total_seconds(),
        )


def _cut_off() -> ProblemError:
    """Return the 503 of a keyed request that ran past its deadline."""
    seconds = int(REQUEST_DEADLINE.total_seconds())
    return ProblemError(
        503,
        "Service Unavailable",
        f"the request did not finish within {seconds} s; send the same request again later",
        headers={"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)},
    )


def _answer_existing(existing: Existing, route: str, hashed: str) -> Response:
    if existing.route != route or existing.request_hash != hashed:
        reason = (
            "was already used for a different request; send a new key for a new request"
            if existing.route == route
            else f"was already used on {existing.route}; send a new key for a new request"
        )
        return _key_problem(422, "Idempotency key reused", reason)
    if existing.status != COMPLETED or existing.response_status is None:
        reason = "a request with this key is still being processed; retry shortly"
        return _key_problem(
            409,
            "Request in progress",
            reason,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    status = existing.response_status
    return JSONResponse(
        existing.response_body,
        status_code=status,
        media_type=PROBLEM_JSON if status >= 400 else None,
        headers={REPLAYED_HEADER: "true"},
    )


def _key_problem(
    status: int, title: str, reason: str, headers: dict[str, str] | None = None
) -> Response:
    """Answer a problem with the key itself, naming the header as the field at fault."""
    return problem_response(
        Problem(
            title=title,
            status=status,
            detail=f"{HEADER}: {reason}",
            errors=[FieldError(field=HEADER, reason=reason)],
        ),
        headers=headers,
    )
