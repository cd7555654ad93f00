"""The dashboard's window: the last 24 hours unless asked otherwise, at most 400 days."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import UTC, datetime, timedelta

import strawberry
from strawberry import relay

from gateway.core.context import Info
from gateway.core.errors import GatewayError
from gateway.core.inputs import as_utc, optional_id
from gateway.dashboard.loaders import Scope
from gateway.dashboard.types import Dashboard

DEFAULT_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=400)


@strawberry.type
class DashboardQuery:
    @strawberry.field(
        description=(
            "Dashboard figures for [since, until): `until` defaults to now and `since` to 24 "
            "hours before `until`; at most 400 days. With `watchlistId`, only that watchlist's "
            "mentions and incidents count (share of voice still lists every watchlist), a drill's "
            "too. Otherwise drills (演练) are left out unless `includeDrills` is true: their "
            "incidents, their posts in volume, platforms and terms, their watchlists in share of "
            "voice. Top authors never count a drill's (invented) authors."
        )
    )
    def dashboard(
        self,
        info: Info,
        since: datetime | None = None,
        until: datetime | None = None,
        watchlist_id: relay.GlobalID | None = None,
        include_drills: bool = False,
    ) -> Dashboard:
        end = as_utc(until) if until is not None else datetime.now(UTC)
        start = as_utc(since) if since is not None else end - DEFAULT_WINDOW
        if start >= end:
            raise GatewayError("`since` must be before `until`.")
        if end - start > MAX_WINDOW:
            raise GatewayError(f"`since` and `until` may be at most {MAX_WINDOW.days} days apart.")
        watched = optional_id(watchlist_id, "Watchlist", "watchlistId")
        scope = Scope(info.context.principal.organization_id, start, end, watched, include_drills)
        return Dashboard(since=start, until=end, scope=scope)
