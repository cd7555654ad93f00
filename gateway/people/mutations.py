"""Creating, changing and deactivating people: admins only, written directly in one
transaction with their audit entries. A person's keys are issued by `issuePersonKey`
(`gateway.keys`)."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import UTC, datetime
from typing import Annotated

import strawberry
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry import relay

from gateway.core.audited import KEY_SECRETS, audited
from gateway.core.commands import forbidden_unless_admin, not_found
from gateway.core.context import Info
from gateway.core.errors import Forbidden, InvalidInput, NotFound, or_why_not
from gateway.core.inputs import local_id
from gateway.people.inputs import (
    CreatePersonInput,
    DeactivatePersonInput,
    UpdatePersonInput,
    checked_contacts,
    checked_handles,
    checked_name,
)
from gateway.people.types import Person
from gateway.revocation import announce
from libs import audit
from libs.audit import EntityKind
from libs.contracts.enums import Role
from libs.database import tables
from libs.database.engine import transaction

MANAGE = "manage people"


@strawberry.type(description="The person as created.")
class CreatePersonPayload:
    person: Person


@strawberry.type(description="The person as changed.")
class UpdatePersonPayload:
    person: Person


@strawberry.type(description="The person as deactivated, and the keys revoked with them.")
class DeactivatePersonPayload:
    person: Person
    revoked_key_ids: list[relay.GlobalID] = strawberry.field(
        description="The `ApiKey` ids of the person's keys this revoked."
    )


CreatePersonResult = Annotated[
    CreatePersonPayload | Forbidden | InvalidInput,
    or_why_not("CreatePersonResult", "The new person"),
]
UpdatePersonResult = Annotated[
    UpdatePersonPayload | Forbidden | NotFound | InvalidInput,
    or_why_not("UpdatePersonResult", "The changed person"),
]
DeactivatePersonResult = Annotated[
    DeactivatePersonPayload | Forbidden | NotFound | InvalidInput,
    or_why_not("DeactivatePersonResult", "The deactivated person"),
]


async def _person_for_update(
    info: Info, session: AsyncSession, person_id: uuid.UUID | None
) -> tables.Person | None:
    """Return the caller's organization's person, locked, or None."""
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


def _audit_person(
    info: Info,
    session: AsyncSession,
    action: str,
    row: tables.Person,
    before: audit.State | None,
    at: datetime,
) -> None:
    audited(info, session, EntityKind.PERSON, action, row, before, at=at)


async def _working_admin_keys(info: Info, session: AsyncSession) -> list[tables.ApiKey]:
    """Return the organization's working admin keys, locked (see `gateway.keys.mutations`)."""
    key = tables.ApiKey
    result = await session.exec(
        select(key)
        .where(
            col(key.organization_id) == info.context.principal.organization_id,
            col(key.role) == Role.ADMIN.value,
            col(key.revoked_at).is_(None),
        )
        .order_by(col(key.id))
        .with_for_update()
    )
    return list(result.all())


@strawberry.type
class PersonMutation:
    @strawberry.mutation(
        description="Add a person with their paging contacts and chat handles. Admin only."
    )
    async def create_person(self, info: Info, input: CreatePersonInput) -> CreatePersonResult:
        if (refusal := forbidden_unless_admin(info, MANAGE)) is not None:
            return refusal
        name = checked_name(input.name)
        contacts = checked_contacts(input.contacts)
        handles = checked_handles(input.chat_handles)
        for checked in (name, contacts, handles):
            if isinstance(checked, InvalidInput):
                return checked
        assert isinstance(name, str) and isinstance(contacts, list) and isinstance(handles, list)
        now = datetime.now(UTC)
        row = tables.Person(
            organization_id=info.context.principal.organization_id,
            name=name,
            contacts=contacts,
            chat_handles=handles,
            created_at=now,
            updated_at=now,
        )
        async with transaction(info.context.sessions) as session:
            session.add(row)
            await session.flush()
            _audit_person(info, session, "create", row, None, now)
        return CreatePersonPayload(person=Person.from_row(row))

    @strawberry.mutation(
        description=(
            "Change a person's name, contacts or chat handles; omitted fields stay. Admin only."
        )
    )
    async def update_person(self, info: Info, input: UpdatePersonInput) -> UpdatePersonResult:
        if (refusal := forbidden_unless_admin(info, MANAGE)) is not None:
            return refusal
        changes: dict[str, object] = {}
        if input.name is not None:
            changes["name"] = checked_name(input.name)
        if input.contacts is not None:
            changes["contacts"] = checked_contacts(input.contacts)
        if input.chat_handles is not None:
            changes["chat_handles"] = checked_handles(input.chat_handles)
        for checked in changes.values():
            if isinstance(checked, InvalidInput):
                return checked
        now = datetime.now(UTC)
        async with transaction(info.context.sessions) as session:
            row = await _person_for_update(info, session, local_id(input.id, "Person"))
            if row is None:
                return not_found("Person", input.id)
            before = audit.state_of(row)
            for name, value in changes.items():
                setattr(row, name, value)
            if audit.state_of(row) != before:
                row.updated_at = now
                session.add(row)
                await session.flush()
                _audit_person(info, session, "update", row, before, now)
        return UpdatePersonPayload(person=Person.from_row(row))

    @strawberry.mutation(
        description=(
            "Record that a person left: their keys are revoked at once (as `revokeApiKey` "
            "does) and they stay named on timelines and in the audit log. Deactivating a "
            "deactivated person answers them unchanged. Refused when it would revoke the "
            "organization's last working admin key. Admin only."
        )
    )
    async def deactivate_person(
        self, info: Info, input: DeactivatePersonInput
    ) -> DeactivatePersonResult:
        if (refusal := forbidden_unless_admin(info, MANAGE)) is not None:
            return refusal
        now = datetime.now(UTC)
        revoked: list[tables.ApiKey] = []
        async with transaction(info.context.sessions) as session:
            row = await _person_for_update(info, session, local_id(input.id, "Person"))
            if row is None:
                return not_found("Person", input.id)
            if row.deactivated_at is None:
                admins = await _working_admin_keys(info, session)
                if admins and all(key.person_id == row.id for key in admins):
                    return InvalidInput(
                        message="This person holds the organization's last working admin key.",
                        field="id",
                    )
                before = audit.state_of(row)
                row.deactivated_at = now
                row.updated_at = now
                session.add(row)
                revoked = await _revoke_keys_of(info, session, row, now)
                await session.flush()
                _audit_person(info, session, "deactivate", row, before, now)
        for key in revoked:
            if info.context.gate is not None:
                await info.context.gate.revoked(key.id)
            await announce(info.context.redis, key.id)
        return DeactivatePersonPayload(
            person=Person.from_row(row),
            revoked_key_ids=[relay.GlobalID("ApiKey", str(key.id)) for key in revoked],
        )


async def _revoke_keys_of(
    info: Info, session: AsyncSession, person: tables.Person, now: datetime
) -> list[tables.ApiKey]:
    """Revoke the person's working keys, each with its audit entry; return them."""
    key = tables.ApiKey
    result = await session.exec(
        select(key)
        .where(col(key.person_id) == person.id, col(key.revoked_at).is_(None))
        .order_by(col(key.id))
        .with_for_update()
    )
    revoked = list(result.all())
    for row in revoked:
        before = audit.state_of(row, KEY_SECRETS)
        row.revoked_at = now
        session.add(row)
        audited(info, session, EntityKind.API_KEY, "revoke", row, before, at=now, omit=KEY_SECRETS)
    return revoked
