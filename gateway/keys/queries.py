"""The organization's keys, newest first, for admins only: a plain list (deprecated) and a
connection."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime

import strawberry
from sqlmodel import col

from gateway.core.connection import Connection, fetch_connection
from gateway.core.context import Info
from gateway.core.errors import ForbiddenError
from gateway.core.owned import every
from gateway.core.pagination import Ordering, PageRequest, page_select
from gateway.keys.types import ApiKey
from libs.contracts.enums import Role
from libs.database import tables

key = tables.ApiKey
NEWEST_FIRST = Ordering("CREATED_AT", col(key.created_at), datetime)
REMOVAL = "removal on 2027-06-30"


def _admin_only(info: Info) -> None:
    if info.context.principal.role is not Role.ADMIN:
        raise ForbiddenError("Only an admin key may list API keys.")


@strawberry.type
class ApiKeyQuery:
    @strawberry.field(
        description="Your organization's keys, newest first, revoked ones included. Admin only.",
        deprecation_reason=f"Use apiKeysConnection; {REMOVAL}",
    )
    async def api_keys(self, info: Info) -> list[ApiKey]:
        _admin_only(info)
        rows = await every(info, key, col(key.created_at).desc(), col(key.id))
        return [ApiKey.from_row(row) for row in rows]

    @strawberry.field(
        description=(
            "Your organization's keys, newest first, revoked ones included, page by page. "
            "Admin only."
        )
    )
    async def api_keys_connection(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ApiKey]:
        request = PageRequest.of(first, after, last, before)
        _admin_only(info)
        # The key's hash is never read: nothing shown needs it.
        statement = page_select(key, NEWEST_FIRST, omit=(key.key_hash,)).where(
            col(key.organization_id) == info.context.principal.organization_id
        )
        return await fetch_connection(
            info,
            (statement, NEWEST_FIRST),
            ApiKey.from_row,
            kind="api-key",
            id_column=col(key.id),
            request=request,
        )
