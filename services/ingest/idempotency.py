"""`Idempotency-Key`: a retried POST gets the first answer instead of doing the work twice.

Partner desks retry on timeouts, and a timeout does not say whether the first attempt
landed. A key is remembered per organization with a SHA-256 of the route and the canonical
body. The first request claims the key in its own short transaction, so a concurrent
duplicate sees the claim at once; it then does the work and stores the status and body.
Afterwards the same key and body replay that answer (`Idempotent-Replayed: true`); another
body under the same key is refused (422); a duplicate arriving while the first still runs
gets 409 with `Retry-After`. A first attempt that fails (an exception, a problem answer, a
5xx) releases the key so the retry runs for real. Records expire after `TTL`; an expired
record, or a claim abandoned by a crashed process for longer than `STALE_CLAIM`, is replaced
by the next request that uses the key.
"""

import hashlib
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import Depends, Header
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import and_, delete, or_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.engine import transaction
from libs.database.tables import IdempotencyRecord
from libs.database.tables._types import utcnow
from services.ingest.problems import PROBLEM_JSON, ProblemError, problem_response
from services.ingest.schemas import FieldError, Problem

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
TTL = timedelta(hours=24)
# A claim older than this was left by a process that died mid-request: no request runs so long.
STALE_CLAIM = timedelta(minutes=5)
RETRY_AFTER_SECONDS = 1
MAX_KEY_LENGTH = 255
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
_PRINTABLE = re.compile(r"[\x20-\x7e]+")

Action = Callable[[], Awaitable[tuple[int, BaseModel]]]


def check_key(value: str | None) -> str | None:
    """Return the key, or refuse one that is empty, too long or not printable ASCII."""
    if value is None:
        return None
    if not 1 <= len(value) <= MAX_KEY_LENGTH or not _PRINTABLE.fullmatch(value):
        reason = f"must be 1–{MAX_KEY_LENGTH} printable ASCII characters"
        raise ProblemError(
            422, "Invalid request", f"{HEADER}: {reason}", [FieldError(field=HEADER, reason=reason)]
        )
    return value


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


def request_hash(route: str, body: bytes) -> str:
    """Return the SHA-256 of the route and the body, JSON made canonical (sorted keys).

    Key order and whitespace do not make a different request; anything else does.
    """
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canonical = body
    return hashlib.sha256(route.encode() + b"\n" + canonical).hexdigest()


@dataclass(frozen=True)
class Claim:
    """This request owns the key until it completes or releases it."""

    organization_id: uuid.UUID
    key: str
    request_hash: str


@dataclass(frozen=True)
class Existing:
    """Another request holds the key: still running, or completed with a stored answer."""

    route: str
    request_hash: str
    status: str
    response_status: int | None
    response_body: dict[str, Any] | None


async def claim(
    sessions: async_sessionmaker[AsyncSession],
    organization_id: uuid.UUID,
    key: str,
    route: str,
    hashed: str,
    now: datetime,
    ttl: timedelta = TTL,
) -> Claim | Existing:
    """Claim `key` for this request in its own transaction, or return who holds it."""
    for _ in range(3):
        async with transaction(sessions) as session:
            statement = insert(IdempotencyRecord).values(
                organization_id=organization_id,
                key=key,
                route=route,
                request_hash=hashed,
                status=IN_PROGRESS,
                response_status=None,
                response_body=None,
                created_at=now,
                expires_at=now + ttl,
            )
            taken = await session.exec(
                statement.on_conflict_do_update(
                    index_elements=["organization_id", "key"],
                    set_={
                        "route": statement.excluded.route,
                        "request_hash": statement.excluded.request_hash,
                        "status": statement.excluded.status,
                        "response_status": None,
                        "response_body": None,
                        "created_at": statement.excluded.created_at,
                        "expires_at": statement.excluded.expires_at,
                    },
                    # Replace only what is over: an expired record, or the same request's
                    # claim abandoned by a process that died before finishing it.
                    where=or_(
                        col(IdempotencyRecord.expires_at) <= now,
                        and_(
                            col(IdempotencyRecord.status) == IN_PROGRESS,
                            col(IdempotencyRecord.created_at) <= now - STALE_CLAIM,
                            col(IdempotencyRecord.request_hash) == hashed,
                            col(IdempotencyRecord.route) == route,
                        ),
                    ),
                ).returning(col(IdempotencyRecord.key))
            )
            if taken.first() is not None:
                return Claim(organization_id, key, hashed)
            found = await session.exec(
                select(IdempotencyRecord).where(
                    col(IdempotencyRecord.organization_id) == organization_id,
                    col(IdempotencyRecord.key) == key,
                )
            )
            row = found.first()
            if row is not None:
                return Existing(
                    route=row.route,
                    request_hash=row.request_hash,
                    status=row.status,
                    response_status=row.response_status,
                    response_body=row.response_body,
                )
        # The holder released the key between our insert and our read: try again.
    raise ProblemError(503, "Busy", f"{HEADER}: the key changed hands repeatedly; retry")


async def complete(
    sessions: async_sessionmaker[AsyncSession], held: Claim, status: int, body: dict[str, Any]
) -> None:
    """Store the answer that retries with this key will get."""
    async with transaction(sessions) as session:
        row = await session.get(IdempotencyRecord, (held.organization_id, held.key))
        if row is None or row.request_hash != held.request_hash:
            return  # taken over after going stale; the newer holder's answer stands
        row.status = COMPLETED
        row.response_status = status
        row.response_body = body
        session.add(row)


async def release(sessions: async_sessionmaker[AsyncSession], held: Claim) -> None:
    """Forget a claim whose request failed, so a retry runs again."""
    async with transaction(sessions) as session:
        await session.exec(
            delete(IdempotencyRecord).where(
                col(IdempotencyRecord.organization_id) == held.organization_id,
                col(IdempotencyRecord.key) == held.key,
                col(IdempotencyRecord.status) == IN_PROGRESS,
                col(IdempotencyRecord.request_hash) == held.request_hash,
            )
        )


async def purge_expired(sessions: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Delete expired records; return how many went."""
    async with transaction(sessions) as session:
        result = await session.exec(
            delete(IdempotencyRecord).where(col(IdempotencyRecord.expires_at) <= now)
        )
    return int(result.rowcount)


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
    to refuse, which releases the key and answers as usual.
    """
    if key is None:
        status, result = await action()
        return JSONResponse(result.model_dump(mode="json"), status_code=status)
    hashed = request_hash(route, body)
    held = await claim(sessions, organization_id, key, route, hashed, now or utcnow())
    if isinstance(held, Existing):
        return _answer_existing(held, route, hashed)
    try:
        status, result = await action()
    except BaseException:
        await release(sessions, held)
        raise
    document = result.model_dump(mode="json")
    if status >= 500:
        await release(sessions, held)
    else:
        await complete(sessions, held, status, document)
    return JSONResponse(document, status_code=status)


def _answer_existing(existing: Existing, route: str, hashed: str) -> Response:
    if existing.route != route or existing.request_hash != hashed:
        reason = (
            "was already used for a different request; send a new key for a new request"
            if existing.route == route
            else f"was already used on {existing.route}; send a new key for a new request"
        )
        return problem_response(
            Problem(
                title="Idempotency key reused",
                status=422,
                detail=f"{HEADER}: {reason}",
                errors=[FieldError(field=HEADER, reason=reason)],
            )
        )
    if existing.status != COMPLETED or existing.response_status is None:
        reason = "a request with this key is still being processed; retry shortly"
        return problem_response(
            Problem(
                title="Request in progress",
                status=409,
                detail=f"{HEADER}: {reason}",
                errors=[FieldError(field=HEADER, reason=reason)],
            ),
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    status = existing.response_status
    return JSONResponse(
        existing.response_body,
        status_code=status,
        media_type=PROBLEM_JSON if status >= 400 else None,
        headers={REPLAYED_HEADER: "true"},
    )
