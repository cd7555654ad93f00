"""The audit log: every configuration change appended with before, after, who and when.

Watchlists (with their watch rules), the sensitive-term lexicon, playbooks, webhook and
chat-alert endpoints, the webhook policy, API keys and people are configuration: a change
to any of them is appended to `audit_entry` in the same transaction that applies it, so an
entry exists exactly when the change does. The services say which of their commands are
configuration on their routes (`Route(..., audit=Audited(...))`) and the queue harness
records them in one place (`libs.messaging.worker`); the gateway records the keys and
people it writes itself with `record`. Entries are never changed or removed: the database
refuses it (migration 0012).
"""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.acting import Acting
from libs.contracts.messages import Command, CommandResult
from libs.database.tables import AuditEntry

State = dict[str, Any]


class EntityKind(StrEnum):
    """What kind of configuration an audit entry is about."""

    WATCHLIST = "watchlist"
    LEXICON = "lexicon"
    PLAYBOOK = "playbook"
    WEBHOOK = "webhook"
    WEBHOOK_POLICY = "webhook_policy"
    API_KEY = "api_key"
    PERSON = "person"
    OWN_ACCOUNT = "own_account"
    PARTNER = "partner"
    STATEMENT_TEMPLATE = "statement_template"
    ROTA = "rota"
    AFFECTED_USER_CONTACT = "affected_user_contact"
    FOLLOW_UP = "follow_up"
    DRILL = "drill"


# Columns no entry copies: the organization is the entry's own, secrets never leave their row.
_NEVER_COPIED = frozenset({"organization_id"})


def state_of(row: SQLModel, omit: Sequence[str] = ()) -> State:
    """Return `row` as JSON, without its organization and the columns in `omit`."""
    return row.model_dump(mode="json", exclude={*_NEVER_COPIED, *omit})


def record(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    kind: EntityKind,
    action: str,
    entity_id: uuid.UUID | None,
    before: State | None,
    after: State | None,
    acting: Acting,
    at: datetime,
) -> AuditEntry:
    """Append one entry to the organization's audit log in `session`'s transaction."""
    entry = AuditEntry(
        organization_id=organization_id,
        entity_kind=kind.value,
        entity_id=entity_id,
        action=action,
        before=before,
        after=after,
        actor=acting.actor,
        key_id=acting.key_id,
        person_id=acting.person_id,
        occurred_at=at,
    )
    session.add(entry)
    return entry


@dataclass(frozen=True)
class Seen:
    """An entity as a snapshot saw it: its id (None for an organization-wide setting) and
    its state (None when it does not exist)."""

    entity_id: uuid.UUID | None
    state: State | None


# Reads the entity a command changes: before it runs (no result yet) and after it succeeded.
Snapshot = Callable[[AsyncSession, Command, CommandResult | None], Awaitable[Seen]]


@dataclass(frozen=True)
class Audited:
    """A configuration command: the entity kind it changes, the action, and how to read the
    entity before and after."""

    kind: EntityKind
    action: str
    snapshot: Snapshot

    async def before(self, session: AsyncSession, command: Command) -> Seen:
        """Read the entity as it stands before `command` runs."""
        return await self.snapshot(session, command, None)

    async def record(
        self,
        session: AsyncSession,
        command: Command,
        result: CommandResult,
        before: Seen,
        *,
        at: datetime,
    ) -> AuditEntry | None:
        """Append the change `command` made, if it succeeded; a refusal changed nothing."""
        if not result.ok:
            return None
        after = await self.snapshot(session, command, result)
        await session.flush()
        return record(
            session,
            organization_id=command.organization_id,
            kind=self.kind,
            action=self.action,
            entity_id=after.entity_id or before.entity_id,
            before=before.state,
            after=after.state,
            acting=Acting.of(command),
            at=at,
        )


def one_row(
    table: type[SQLModel],
    *,
    id_field: str | None = None,
    answered: str = "id",
    omit: Sequence[str] = (),
) -> Snapshot:
    """Snapshot one row of `table`: by the command's `id_field`, or (for a create) by the id
    the answer carries under `answered` (dotted for a nested one: `endpoint.id`); `omit`
    leaves columns such as secrets out."""

    async def snapshot(
        session: AsyncSession, command: Command, result: CommandResult | None
    ) -> Seen:
        row_id = _row_id(command, result, id_field, answered)
        if row_id is None:
            return Seen(None, None)
        await session.flush()
        row = await session.get(table, row_id, populate_existing=True)
        if row is None or getattr(row, "organization_id", None) != command.organization_id:
            return Seen(row_id, None)
        return Seen(row_id, state_of(row, omit))

    return snapshot


def _row_id(
    command: Command, result: CommandResult | None, id_field: str | None, answered: str
) -> uuid.UUID | None:
    if id_field is not None:
        value: uuid.UUID = getattr(command, id_field)
        return value
    found: Any = result.data if result is not None else None
    for part in answered.split("."):
        found = found.get(part) if isinstance(found, dict) else None
    return uuid.UUID(str(found)) if found is not None else None


def matching(
    table: type[SQLModel],
    where: Callable[[Command], Sequence[ColumnElement[bool]]],
    *,
    keyed: bool = False,
    order_by: Sequence[Any] = (),
    omit: Sequence[str] = (),
) -> Snapshot:
    """Snapshot the organization's rows of `table` that `where(command)` selects.

    `keyed`: `where` names one row by its natural key (a tier's playbook), whose id and
    state are the entity's. Otherwise the rows are one organization-wide setting (the
    lexicon, a policy): no entity id, and the state is `{"rows": [...]}`.
    """

    async def snapshot(
        session: AsyncSession, command: Command, result: CommandResult | None
    ) -> Seen:
        await session.flush()
        organization = col(getattr(table, "organization_id"))  # noqa: B009 - every audited table
        query = (
            select(table)
            .where(organization == command.organization_id, *where(command))
            .order_by(*order_by)
            .execution_options(populate_existing=True)
        )
        rows = list((await session.exec(query)).all())
        if keyed:
            row = rows[0] if rows else None
            return Seen(getattr(row, "id", None), state_of(row, omit) if row else None)
        return Seen(None, {"rows": [state_of(row, omit) for row in rows]})

    return snapshot
