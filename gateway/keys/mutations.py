"""Issuing and revoking keys, admins only, written directly in one transaction."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import UTC, datetime
from typing import Annotated

import strawberry
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry import relay

from gateway.core.commands import forbidden_unless_admin, not_found
from gateway.core.context import Info
from gateway.core.errors import Forbidden, InvalidInput, NotFound, or_why_not, superseded_by
from gateway.core.inputs import local_id
from gateway.keys.types import ApiKey, ApiKeyCreated
from gateway.revocation import announce
from libs.auth.keys import mint
from libs.contracts.enums import Role
from libs.database import tables
from libs.database.engine import transaction

MANAGE = "manage API keys"
NAME_LIMIT = 200

CreateApiKeyResult = Annotated[
    ApiKeyCreated | Forbidden | InvalidInput,
    or_why_not("CreateApiKeyResult", "The new key and its secret"),
]
RevokeApiKeyResult = Annotated[
    ApiKey | Forbidden | NotFound | InvalidInput,
    or_why_not("RevokeApiKeyResult", "The revoked key"),
]


async def _active_admins(info: Info, session: AsyncSession) -> int:
    """Count the organization's working admin keys, locking them so that two admins revoking
    each other's keys at once cannot leave the organization with none."""
    result = await session.exec(
        select(tables.ApiKey.id)
        .where(
            col(tables.ApiKey.organization_id) == info.context.principal.organization_id,
            col(tables.ApiKey.role) == Role.ADMIN.value,
            col(tables.ApiKey.revoked_at).is_(None),
        )
        .order_by(col(tables.ApiKey.id))
        .with_for_update()
    )
    return len(result.all())


@strawberry.input(description="A new key: a name to tell it by and the role it acts with.")
class ApiKeyCreateInput:
    name: str = strawberry.field(description=f"1 to {NAME_LIMIT} characters.")
    role: Role


@strawberry.input(description="The key to revoke.")
class ApiKeyRevokeInput:
    id: relay.GlobalID


CREATED = (
    "Issue a key with a role; the answer carries its secret, shown this once only. Admin only."
)
REVOKED = (
    "Revoke a key for good; it stops working at once on every gateway, its open WebSockets "
    "are closed, and a gateway cut off from Redis stops accepting it within 30 s. Revoking a "
    "revoked key answers it unchanged. The last working admin key cannot be revoked. Admin only."
)


async def _create(info: Info, name: str, role: Role) -> ApiKeyCreated | Forbidden | InvalidInput:
    """Mint a key for the caller's organization and store it, or say why not."""
    if (refusal := forbidden_unless_admin(info, MANAGE)) is not None:
        return refusal
    name = name.strip()
    if not name or len(name) > NAME_LIMIT:
        return InvalidInput(message=f"`name` must be 1 to {NAME_LIMIT} characters.", field="name")
    issued = mint(info.context.principal.organization_id, role, name)
    async with transaction(info.context.sessions) as session:
        session.add(issued.row)
    return ApiKeyCreated(api_key=ApiKey.from_row(issued.row), secret=issued.secret)


async def _revoke(info: Info, id: relay.GlobalID) -> ApiKey | Forbidden | NotFound | InvalidInput:
    """Revoke the caller's key `id` and tell every gateway, or say why not."""
    if (refusal := forbidden_unless_admin(info, MANAGE)) is not None:
        return refusal
    key_id = local_id(id, "ApiKey")
    newly_revoked = False
    async with transaction(info.context.sessions) as session:
        row = None
        if key_id is not None:
            row = (
                await session.exec(
                    select(tables.ApiKey).where(
                        col(tables.ApiKey.id) == key_id,
                        col(tables.ApiKey.organization_id)
                        == info.context.principal.organization_id,
                    )
                )
            ).one_or_none()
        if row is None:
            return not_found("ApiKey", id)
        if row.revoked_at is None:
            if row.role == Role.ADMIN.value and await _active_admins(info, session) <= 1:
                return InvalidInput(
                    message="This is the organization's last working admin key.", field="id"
                )
            row.revoked_at = datetime.now(UTC)
            session.add(row)
            newly_revoked = True
    if newly_revoked:
        # Committed: now every gateway process forgets the key and closes its sockets.
        if info.context.gate is not None:
            await info.context.gate.revoked(row.id)
        await announce(info.context.redis, row.id)
    return ApiKey.from_row(row)


@strawberry.type
class ApiKeyMutation:
    @strawberry.mutation(description=CREATED, deprecation_reason=superseded_by("apiKeyCreate"))
    async def create_api_key(self, info: Info, name: str, role: Role) -> CreateApiKeyResult:
        return await _create(info, name, role)

    @strawberry.mutation(description=CREATED)
    async def api_key_create(self, info: Info, input: ApiKeyCreateInput) -> CreateApiKeyResult:
        return await _create(info, input.name, input.role)

    @strawberry.mutation(description=REVOKED, deprecation_reason=superseded_by("apiKeyRevoke"))
    async def revoke_api_key(self, info: Info, id: relay.GlobalID) -> RevokeApiKeyResult:
        return await _revoke(info, id)

    @strawberry.mutation(description=REVOKED)
    async def api_key_revoke(self, info: Info, input: ApiKeyRevokeInput) -> RevokeApiKeyResult:
        return await _revoke(info, input.id)
