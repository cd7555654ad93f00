"""API key management for admins: list, issue and revoke the organization's bearer keys.

Keys are the authentication data every entry point reads (the gateway and the ingest API,
through `libs.auth.keys`); no service owns them, so these mutations write the key table
directly in one transaction instead of sending a command. A secret is shown once, in the
answer that issues it; only its SHA-256 is stored. A revoked key stops working on every
process within the principal cache's lifetime (30 s).
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Self

import strawberry
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry import relay

from gateway.context import Info
from gateway.schema.commands import forbidden_unless_admin, not_found
from gateway.schema.errors import Forbidden, GatewayError, InvalidInput, NotFound
from gateway.schema.nodes import parse_uuid
from gateway.schema.queries import local_id
from libs.auth.keys import mint
from libs.contracts.enums import Role
from libs.database import tables
from libs.database.engine import transaction

MANAGE = "manage API keys"
NAME_LIMIT = 200

strawberry.enum(
    Role,
    description=(
        "What a key may do: INGEST pushes mentions and complaints only; VIEWER reads; "
        "RESPONDER reads and runs the war room; ADMIN also manages settings, webhooks and keys."
    ),
)


class ForbiddenError(GatewayError):
    """A read that only admin keys may make."""


@strawberry.type(description="A bearer key of your organization; the secret is never shown here.")
class ApiKey(relay.Node):
    id: relay.NodeID[uuid.UUID]
    database_id: uuid.UUID
    name: str
    role: Role
    prefix: str = strawberry.field(
        description="The key's public prefix: `cw_<prefix>_…` tells which key a client holds."
    )
    created_at: datetime
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked; null while it works."
    )

    @classmethod
    def from_row(cls, row: tables.ApiKey) -> Self:
        """Build from an api_key row; its hash stays on the server."""
        return cls(
            id=row.id,
            database_id=row.id,
            name=row.name,
            role=Role(row.role),
            prefix=row.prefix,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Admins see their organization's keys by global id; anyone else sees nothing."""
        ids = [parse_uuid(node_id) for node_id in node_ids]
        found: dict[uuid.UUID, tables.ApiKey] = {}
        if info.context.principal.role is Role.ADMIN:
            wanted = [id_ for id_ in ids if id_ is not None]
            async with info.context.sessions() as session:
                rows = await session.exec(
                    select(tables.ApiKey).where(
                        col(tables.ApiKey.id).in_(wanted),
                        col(tables.ApiKey.organization_id)
                        == info.context.principal.organization_id,
                    )
                )
                found = {row.id: row for row in rows}
        nodes = [cls.from_row(found[id_]) if id_ in found else None for id_ in ids]
        if required and any(node is None for node in nodes):
            raise LookupError("No ApiKey with that id.")
        return nodes


@strawberry.type(description="A new key and its secret, shown this once only.")
class ApiKeyCreated:
    api_key: ApiKey
    secret: str = strawberry.field(
        description="Send it as `Authorization: Bearer <secret>`; it cannot be shown again."
    )


CreateApiKeyResult = Annotated[
    ApiKeyCreated | Forbidden | InvalidInput,
    strawberry.union("CreateApiKeyResult", description="The new key and its secret, or why not."),
]
RevokeApiKeyResult = Annotated[
    ApiKey | Forbidden | NotFound | InvalidInput,
    strawberry.union("RevokeApiKeyResult", description="The revoked key, or why not."),
]


@strawberry.type
class ApiKeyQuery:
    @strawberry.field(
        description="Your organization's keys, newest first, revoked ones included. Admin only."
    )
    async def api_keys(self, info: Info) -> list[ApiKey]:
        if info.context.principal.role is not Role.ADMIN:
            raise ForbiddenError("Only an admin key may list API keys.")
        statement = (
            select(tables.ApiKey)
            .where(col(tables.ApiKey.organization_id) == info.context.principal.organization_id)
            .order_by(col(tables.ApiKey.created_at).desc(), col(tables.ApiKey.id))
        )
        async with info.context.sessions() as session:
            rows = (await session.exec(statement)).all()
        return [ApiKey.from_row(row) for row in rows]


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


@strawberry.type
class ApiKeyMutation:
    @strawberry.mutation(
        description=(
            "Issue a key with a role; the answer carries its secret, shown this once only. "
            "Admin only."
        )
    )
    async def create_api_key(self, info: Info, name: str, role: Role) -> CreateApiKeyResult:
        if (refusal := forbidden_unless_admin(info, MANAGE)) is not None:
            return refusal
        name = name.strip()
        if not name or len(name) > NAME_LIMIT:
            return InvalidInput(
                message=f"`name` must be 1 to {NAME_LIMIT} characters.", field="name"
            )
        issued = mint(info.context.principal.organization_id, role, name)
        async with transaction(info.context.sessions) as session:
            session.add(issued.row)
        return ApiKeyCreated(api_key=ApiKey.from_row(issued.row), secret=issued.secret)

    @strawberry.mutation(
        description=(
            "Revoke a key for good; it stops working within 30 s everywhere. Revoking a "
            "revoked key answers it unchanged. The last working admin key cannot be revoked. "
            "Admin only."
        )
    )
    async def revoke_api_key(self, info: Info, id: relay.GlobalID) -> RevokeApiKeyResult:
        if (refusal := forbidden_unless_admin(info, MANAGE)) is not None:
            return refusal
        key_id = local_id(id, "ApiKey")
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
                        message="This is the organization's last working admin key.",
                        field="id",
                    )
                row.revoked_at = datetime.now(UTC)
                session.add(row)
        return ApiKey.from_row(row)
