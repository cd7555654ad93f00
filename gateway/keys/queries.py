"""The organization's keys, newest first, for admins only."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import strawberry
from sqlmodel import col

from gateway.core.context import Info
from gateway.core.errors import ForbiddenError
from gateway.core.owned import every
from gateway.keys.types import ApiKey
from libs.contracts.enums import Role
from libs.database import tables


@strawberry.type
class ApiKeyQuery:
    @strawberry.field(
        description="Your organization's keys, newest first, revoked ones included. Admin only."
    )
    async def api_keys(self, info: Info) -> list[ApiKey]:
        if info.context.principal.role is not Role.ADMIN:
            raise ForbiddenError("Only an admin key may list API keys.")
        key = tables.ApiKey
        rows = await every(info, key, col(key.created_at).desc(), col(key.id))
        return [ApiKey.from_row(row) for row in rows]
