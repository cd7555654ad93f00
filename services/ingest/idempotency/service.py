"""Claims on an `Idempotency-Key`: taken, completed, released, each in its own transaction.

Unlike other service code these functions open their own short transactions: a claim must
be visible to a concurrent duplicate before the request's own work starts, and its answer
or release must land whatever that work did.

A claim is bound to its request's lifetime by two numbers. The request runs, from taking
its claim to storing its answer, under `REQUEST_DEADLINE` (20 s): past it, it is cut off
and answers 503 (`http.respond`). So a claim older than `CLAIM_LEASE` (30 s) belongs to no
live request — its process died, or its release failed while PostgreSQL was away — and a
resend of the same body takes it over. The 10 s between them cover releasing the claim
after the deadline and clocks of ingest replicas that differ by a few seconds (the claim's
time is the replica's clock). A partner's HTTP client usually waits 10–30 s: a request cut
off at 20 s answers before most give up, and a partner whose request was lost with its
process waits at most 30 s, not minutes, before its resend runs. A claim is identified by
the time it was taken, so a request finishing late never completes nor releases the claim
of the resend that took over from it.
"""

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.copying import copy_into
from libs.database.engine import transaction
from services.ingest.idempotency import repository
from services.ingest.problems import ProblemError
from services.ingest.schemas import FieldError

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
REQUEST_DEADLINE = timedelta(seconds=20)
"""How long a keyed request may run, claim to answer, before it is cut off."""
CLAIM_LEASE = REQUEST_DEADLINE + timedelta(seconds=10)
"""A claim older than this outlived its request's deadline: a resend of the body takes it over."""
MAX_KEY_LENGTH = 255
_PRINTABLE = re.compile(r"[\x20-\x7e]+")


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
    claimed_at: datetime


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
            if await repository.take(
                session, organization_id, key, route, hashed, now, now + ttl, now - CLAIM_LEASE
            ):
                return Claim(organization_id, key, hashed, now)
            row = await repository.find(session, organization_id, key)
            if row is not None:
                return copy_into(Existing, row)
        # The holder released the key between our insert and our read: try again.
    raise ProblemError(503, "Busy", f"{HEADER}: the key changed hands repeatedly; retry")


async def complete(
    sessions: async_sessionmaker[AsyncSession], held: Claim, status: int, body: dict[str, Any]
) -> None:
    """Store the answer that retries with this key will get."""
    async with transaction(sessions) as session:
        await repository.complete(
            session, held.organization_id, held.key, held.claimed_at, status, body
        )


async def release(sessions: async_sessionmaker[AsyncSession], held: Claim) -> None:
    """Forget a claim whose request failed, so a retry runs again."""
    async with transaction(sessions) as session:
        await repository.release(session, held.organization_id, held.key, held.claimed_at)
