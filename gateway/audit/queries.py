"""The audit log, newest first, narrowed by kind, person and time; admins only."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import UTC, datetime

import strawberry
from strawberry import relay

from gateway.audit.types import AuditEntry, EntityKind
from gateway.core.connection import Connection, fetch_connection
from gateway.core.context import Info
from gateway.core.errors import ForbiddenError
from gateway.core.filters import Scope, at_or_after, before, equals, names
from gateway.core.listing import Key, ListSpec, Sorting
from gateway.core.pagination import PageRequest
from libs.contracts.enums import Role
from libs.database import tables

entry = tables.AuditEntry


@strawberry.input(description="Narrow the audit log; every given condition must hold.")
class AuditEntryFilter:
    entity_kind: EntityKind | None = equals(entry.entity_kind)
    person_id: relay.GlobalID | None = names(entry.person_id, "Person", "Changes this person made.")
    since: datetime | None = at_or_after(entry.occurred_at, "Made at or after.")
    until: datetime | None = before(entry.occurred_at, "Made before.")


AUDIT_LIST = ListSpec(
    AuditEntry,
    AuditEntryFilter,
    Sorting("Sort the audit log.", OCCURRED_AT=Key.time(entry.occurred_at)),
    noun="the audit log",
)


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description=(
            "Every configuration change (watchlists and their rules, the lexicon, playbooks, "
            "webhooks and their policy, API keys, people) and each reveal of an affected "
            "user's contact (who, when, why; never the value), newest first, with the state "
            "before and after and who made it; `since`/`until` give a time range, as for an "
            "incident's archive. Admin only."
        )
    )
    async def audit_log(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: AuditEntryFilter | None = None,
    ) -> Connection[AuditEntry]:
        request = PageRequest.of(first, after, last, before)
        if info.context.principal.role is not Role.ADMIN:
            raise ForbiddenError("Only an admin key may read the audit log.")
        scope = Scope(info.context.principal.organization_id, datetime.now(UTC))
        return await fetch_connection(
            info,
            AUDIT_LIST.select(scope, filter, None),
            AuditEntry.from_row,
            kind=AUDIT_LIST.kind,
            id_column=AUDIT_LIST.id_column,
            request=request,
        )
