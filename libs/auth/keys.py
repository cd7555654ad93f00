"""Bearer keys of the form `cw_<prefix>_<secret>`.

Only the SHA-256 of a key is stored. The keys are 256-bit random tokens, not passwords, so
a fast hash is the right tool (as for GitHub or Stripe tokens): a slow password hash would
cost every request milliseconds and protect nothing more. The prefix is stored in clear so
a key is found by index, and the hash is compared in constant time.
"""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.acting import KEY_ACTOR_PREFIX, Acting
from libs.contracts.enums import Role
from libs.database.tables import ApiKey

KEY_SCHEME = "cw"

# What each role may do beyond reading; ingest keys may only push data.
_READERS = frozenset({Role.VIEWER, Role.RESPONDER, Role.ADMIN})
_WRITERS = frozenset({Role.RESPONDER, Role.ADMIN})
_INGESTERS = frozenset({Role.INGEST, Role.ADMIN})


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key, its organization and its role, and the person it acts for.

    `person_id` is None for a service account's key: an integration acting as itself.
    """

    key_id: uuid.UUID
    organization_id: uuid.UUID
    role: Role
    person_id: uuid.UUID | None = None

    @property
    def actor(self) -> str:
        """Return how this caller is named on timelines."""
        return f"{KEY_ACTOR_PREFIX}{self.key_id}"

    @property
    def acting(self) -> Acting:
        """Return this caller as the sender of a change: key and person."""
        return Acting(self.actor, self.key_id, self.person_id)

    def can_read(self) -> bool:
        """Return whether this key may read mentions, incidents and watchlists."""
        return self.role in _READERS

    def can_respond(self) -> bool:
        """Return whether this key may change incidents and watchlists."""
        return self.role in _WRITERS

    def can_ingest(self) -> bool:
        """Return whether this key may push mentions."""
        return self.role in _INGESTERS


@dataclass(frozen=True)
class NewKey:
    """A freshly minted key: `secret` is shown once and never stored."""

    row: ApiKey
    secret: str


def hash_key(secret: str) -> str:
    """Return the stored form of a key."""
    return hashlib.sha256(secret.encode()).hexdigest()


def mint(
    organization_id: uuid.UUID, role: Role, name: str, *, person_id: uuid.UUID | None = None
) -> NewKey:
    """Create a key row (not yet added to a session) and its one-time secret.

    The key acts for `person_id`, or without one for a service account named `name`.
    """
    prefix = secrets.token_hex(6)
    secret = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        organization_id=organization_id,
        name=name,
        person_id=person_id,
        service_account=None if person_id is not None else name,
        role=role.value,
        prefix=prefix,
        key_hash=hash_key(secret),
    )
    return NewKey(row=row, secret=secret)


def parse_bearer(header: str | None) -> str | None:
    """Return the key in an `Authorization: Bearer <key>` header, or None."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def resolve(session: AsyncSession, secret: str) -> Principal | None:
    """Return the principal for a key, or None when it is unknown, malformed or revoked."""
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME:
        return None
    result = await session.exec(select(ApiKey).where(col(ApiKey.prefix) == parts[1]))
    row = result.one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, hash_key(secret)):
        return None
    return Principal(
        key_id=row.id,
        organization_id=row.organization_id,
        role=Role(row.role),
        person_id=row.person_id,
    )
