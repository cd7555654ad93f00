"""An API key as admins read it (never its secret), and a newly issued key with its secret."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Self

import strawberry
from sqlmodel import col, select

from gateway.core.context import Info
from gateway.core.inputs import parse_uuid
from gateway.core.nodes import StoredNode
from gateway.core.rows import converted
from gateway.people.types import Person
from libs.contracts.enums import Role
from libs.database import tables

__all__ = ["ApiKey", "ApiKeyCreated", "Role"]

strawberry.enum(
    Role,
    description=(
        "What a key may do: INGEST pushes mentions and complaints only; VIEWER reads; "
        "RESPONDER reads and runs the war room; ADMIN also manages settings, webhooks and keys."
    ),
)


@strawberry.type(description="A bearer key of your organization; the secret is never shown here.")
class ApiKey(StoredNode):
    CONVERTED = converted(role=Role)

    name: str
    role: Role
    prefix: str = strawberry.field(
        description="The key's public prefix: `cw_<prefix>_…` tells which key a client holds."
    )
    created_at: datetime
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked; null while it works."
    )
    service_account: str | None = strawberry.field(
        description=(
            "The service account the key belongs to, when it acts for no person (an "
            "integration); null for a person's key."
        )
    )
    person_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The person the key acts for; null for a service account's.")
    async def person(self, info: Info) -> Person | None:
        return await Person.load(info, self.person_id)

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
