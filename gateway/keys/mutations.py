"""Issuing and revoking keys, admins only, written directly in one transaction with their
audit entries. A key issued here belongs to a service account named after it; a person's
key is issued by `issuePersonKey`."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import UTC, datetime
from typing import Annotated

import strawberry
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry import relay

from gateway.core.audited import KEY_SECRETS, audited
from gateway.core.commands import forbidden_unless_admin, not_found
from gateway.core.context import Info
from gateway.core.errors import Forbidden, InvalidInput, NotFound, or_why_not, superseded_by
from gateway.core.inputs import local_id
from gateway.keys.types import ApiKey, ApiKeyCreated
from gateway.revocation import announce
from libs import audit
from libs.audit import EntityKind
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


@strawberry.input(description="A key that acts for a person.")
class IssuePersonKeyInput:
    person_id: relay.GlobalID
    role: Role
    name: str | None = strawberry.field(
        default=None,
        description="What the key is for (a console, a laptop); the person's name by default.",
    )


@strawberry.type(description="A key acting for a person, and its secret, shown this once only.")
class IssuePersonKeyPayload:
    api_key: ApiKey
    secret: str = strawberry.field(
        description="Send it as `Authorization: Bearer <secret>`; it cannot be shown again."
    )


IssuePersonKeyResult = Annotated[
    IssuePersonKeyPayload | Forbidden | NotFound | InvalidInput,
    or_why_not("IssuePersonKeyResult", "The new key and its secret"),
]


async def _store(info: Info, session: AsyncSession, key: tables.ApiKey) -> None:
    """Store a new key with its audit entry, in the caller's transaction; no secret is kept."""
    session.add(key)
    await session.flush()
    audited(
        info, session, EntityKind.API_KEY, "create", key, None, at=key.created_at, omit=KEY_SECRETS
    )


def _checked_name(name: str) -> str | InvalidInput:
    name = name.strip()
    if not name or len(name) > NAME_LIMIT:
        return InvalidInput(message=f"`name` must be 1 to {NAME_LIMIT} characters.", field="name")
    return name


async def _active_person(
    info: Info, session: AsyncSession, id: relay.GlobalID
) -> tables.Person | None:
    """Return the caller's organization's person named by `id`, locked, or None."""
    person_id = local_id(id, "Person")
    if person_id is None:
        return None
    result = await session.exec(
        select(tables.Person)
        .where(
            col(tables.Person.id) == person_id,
            col(tables.Person.organization_id) == info.context.principal.organization_id,
        )
        .with_for_update()
    )
    return result.one_or_none()


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
    checked = _checked_name(name)
    if isinstance(checked, InvalidInput):
        return checked
    issued = mint(info.context.principal.organization_id, role, checked)
    async with transaction(info.context.sessions) as session:
        await _store(info, session, issued.row)
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
            before = audit.state_of(row, KEY_SECRETS)
            row.revoked_at = datetime.now(UTC)
            session.add(row)
            audited(
                info,
                session,
                EntityKind.API_KEY,
                "revoke",
                row,
                before,
                at=row.revoked_at,
                omit=KEY_SECRETS,
            )
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

    @strawberry.mutation(
        description=(
            "Issue a key that acts for a person: what it does is recorded as theirs, and "
            "separation of duties holds them to it. The answer carries its secret, shown "
            "this once only. Admin only."
        )
    )
    async def issue_person_key(
        self, info: Info, input: IssuePersonKeyInput
    ) -> IssuePersonKeyResult:
        if (refusal := forbidden_unless_admin(info, MANAGE)) is not None:
            return refusal
        name = _checked_name(input.name) if input.name is not None else None
        if isinstance(name, InvalidInput):
            return name
        async with transaction(info.context.sessions) as session:
            person = await _active_person(info, session, input.person_id)
            if person is None:
                return not_found("Person", input.person_id)
            if person.deactivated_at is not None:
                message = "The person was deactivated; a key cannot act for them."
                return InvalidInput(message=message, field="personId")
            issued = mint(
                person.organization_id, input.role, name or person.name, person_id=person.id
            )
            await _store(info, session, issued.row)
        return IssuePersonKeyPayload(api_key=ApiKey.from_row(issued.row), secret=issued.secret)

    @strawberry.mutation(description=REVOKED, deprecation_reason=superseded_by("apiKeyRevoke"))
    async def revoke_api_key(self, info: Info, id: relay.GlobalID) -> RevokeApiKeyResult:
        return await _revoke(info, id)

    @strawberry.mutation(description=REVOKED)
    async def api_key_revoke(self, info: Info, input: ApiKeyRevokeInput) -> RevokeApiKeyResult:
        return await _revoke(info, input.id)
