"""The audit entry of a change the gateway writes itself (keys, people).

Everything else is configured through a service, whose queue harness audits it
(`libs.audit`); keys and people are written by the gateway in one transaction, so it appends
their entries in that same transaction, naming the caller's key and person.
"""

from datetime import datetime

from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.context import Info
from libs import audit
from libs.audit import EntityKind

# What the audit log keeps of a key: never its hash.
KEY_SECRETS = ("key_hash",)


def audited(
    info: Info,
    session: AsyncSession,
    kind: EntityKind,
    action: str,
    row: SQLModel,
    before: audit.State | None,
    *,
    at: datetime,
    omit: tuple[str, ...] = (),
) -> None:
    """Append the change of `row` (as it is now, `before` it was) to the audit log."""
    audit.record(
        session,
        organization_id=getattr(row, "organization_id"),  # noqa: B009 - every audited row
        kind=kind,
        action=action,
        entity_id=getattr(row, "id"),  # noqa: B009 - every audited row has one
        before=before,
        after=audit.state_of(row, omit),
        acting=info.context.principal.acting,
        at=at,
    )
