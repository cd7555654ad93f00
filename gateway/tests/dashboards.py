"""The dashboard's test window and a helper that asks for one dashboard in it."""

from datetime import timedelta
from typing import Any

from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL
from libs.contracts.enums import Role
from tests.builders import Tenant

SINCE = T0 + timedelta(minutes=10)
UNTIL = T0 + timedelta(hours=5, minutes=10)


async def dashboard(gql: GraphQL, tenant: Tenant, selection: str, **arguments: Any) -> Any:
    """Return the `dashboard` object of one query, failing on any error."""
    query = (
        "query($since: DateTime, $until: DateTime, $watchlistId: ID) {"
        " dashboard(since: $since, until: $until, watchlistId: $watchlistId) { "
        + selection
        + " } }"
    )
    variables = {"since": SINCE.isoformat(), "until": UNTIL.isoformat(), **arguments}
    body = await gql(tenant.auth(Role.VIEWER), query, variables)
    assert "errors" not in body, body
    return body["data"]["dashboard"]
