"""An audit entry as admins read it: what changed, how it was before and after, by whom."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Self

import strawberry
from strawberry.scalars import JSON

from gateway.audit.loaders import AUDIT_ENTRIES
from gateway.core.context import Info
from gateway.core.nodes import LoadedNode
from gateway.core.rows import converted
from gateway.people.types import Person
from libs.audit import EntityKind
from libs.contracts.enums import Role

__all__ = ["AuditEntry", "EntityKind"]

strawberry.enum(
    EntityKind,
    name="AuditEntityKind",
    description=(
        "What an audit entry is about: a watchlist (its keywords and watch rule), the "
        "sensitive-term lexicon, a playbook, a webhook or chat-alert endpoint, the webhook "
        "policy, an API key or a person."
    ),
)


@strawberry.type(
    description=(
        "One configuration change, kept for good: nothing edits or removes an entry. Admin only."
    )
)
class AuditEntry(LoadedNode):
    ROWS = AUDIT_ENTRIES
    CONVERTED = converted(entity_kind=EntityKind, before=JSON, after=JSON)

    entity_kind: EntityKind
    entity_id: uuid.UUID | None = strawberry.field(
        description="The changed object's databaseId; null for an organization-wide setting."
    )
    action: str = strawberry.field(
        description="What was done: `create`, `update`, `delete`, `set`, `revoke`, …"
    )
    before: JSON | None = strawberry.field(description="Its state before; null when new.")
    after: JSON | None = strawberry.field(description="Its state after; null when removed.")
    actor: str = strawberry.field(description="The key that made the change (`api_key:<id>`).")
    key_id: uuid.UUID | None = strawberry.field(description="That key's databaseId.")
    occurred_at: datetime
    person_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The person who made the change; null for a service account.")
    async def person(self, info: Info) -> Person | None:
        return await Person.load(info, self.person_id)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Admins read entries by global id; any other key sees none."""
        given = list(node_ids)
        if info.context.principal.role is not Role.ADMIN:
            if required:
                raise LookupError("Only an admin key may read the audit log.")
            return [None for _ in given]
        return await super().resolve_nodes(info=info, node_ids=given, required=required)
