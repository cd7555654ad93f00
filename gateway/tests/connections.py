"""Walking connections the way a client does: one page, every page, the expected order.

Every expectation is computed from the rows a test stored: the order by sorting them on
(key, id), the filters by testing each row.
"""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from gateway.tests.conftest import GraphQL
from libs.contracts.enums import (
    Role,
)
from tests.builders import Tenant

Row = TypeVar("Row")

# The input types of each connection's `filter` and `orderBy`.
INPUTS = {
    "mentions": ("MentionFilter", "MentionOrder"),
    "signals": ("SignalFilter", "SignalOrder"),
    "tasks": ("TaskFilter", "TaskOrder"),
    "statements": ("StatementFilter", "StatementOrder"),
    "reviewReports": ("ReviewReportFilter", "ReviewReportOrder"),
    "watchlistsConnection": ("WatchlistFilter", "WatchlistOrder"),
    "incidents": ("IncidentFilter", "IncidentOrder"),
    "stories": ("StoryFilter", "StoryOrder"),
    "authors": ("AuthorFilter", "AuthorOrder"),
    "webhookDeliveries": ("WebhookDeliveryFilter", "WebhookDeliveryOrder"),
}


def document(field: str) -> str:
    """Return a query for one page of `field` with every paging argument as a variable."""
    filter_type, order_type = INPUTS[field]
    return f"""
    query($first: Int, $after: String, $last: Int, $before: String,
          $filter: {filter_type}, $orderBy: {order_type}) {{
      {field}(first: $first, after: $after, last: $last, before: $before,
              filter: $filter, orderBy: $orderBy) {{
        pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
        edges {{ cursor node {{ databaseId }} }}
      }}
    }}
    """


async def page(
    gql: GraphQL,
    tenant: Tenant,
    field: str,
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: dict[str, Any] | None = None,
    order_by: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the whole response for one page of `field`."""
    variables = {
        "first": first,
        "after": after,
        "last": last,
        "before": before,
        "filter": filter,
        "orderBy": order_by,
    }
    return await gql(tenant.auth(Role.VIEWER), document(field), variables)


async def walk(
    gql: GraphQL,
    tenant: Tenant,
    field: str,
    *,
    first: int = 2,
    filter: dict[str, Any] | None = None,
    order_by: dict[str, Any] | None = None,
) -> list[str]:
    """Follow `field` page by page to its end; return the database ids in order."""
    seen: list[str] = []
    after: str | None = None
    while True:
        body = await page(
            gql, tenant, field, first=first, after=after, filter=filter, order_by=order_by
        )
        assert "errors" not in body, body
        connection = body["data"][field]
        edges = connection["edges"]
        assert len(edges) <= first
        assert connection["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [edge["node"]["databaseId"] for edge in edges]
        if not connection["pageInfo"]["hasNextPage"]:
            assert len(seen) == len(set(seen)), "a row came twice"
            return seen
        after = connection["pageInfo"]["endCursor"]
        assert after == edges[-1]["cursor"]


async def walk_back(
    gql: GraphQL,
    tenant: Tenant,
    field: str,
    *,
    last: int = 2,
    filter: dict[str, Any] | None = None,
    order_by: dict[str, Any] | None = None,
) -> list[str]:
    """Follow `field` backward from its end with `last`/`before` to its start; return the
    database ids in list order, checking each page's boundaries on the way."""
    seen: list[str] = []
    before: str | None = None
    while True:
        body = await page(
            gql, tenant, field, last=last, before=before, filter=filter, order_by=order_by
        )
        assert "errors" not in body, body
        connection = body["data"][field]
        edges = connection["edges"]
        info = connection["pageInfo"]
        assert len(edges) <= last
        assert info["hasNextPage"] is (before is not None)
        seen = [edge["node"]["databaseId"] for edge in edges] + seen
        if not info["hasPreviousPage"]:
            assert len(seen) == len(set(seen)), "a row came twice"
            return seen
        assert len(edges) == last, "a page short of `last` must be the first"
        before = info["startCursor"]
        assert before == edges[0]["cursor"]


async def check_filters(
    gql: GraphQL,
    tenant: Tenant,
    field: str,
    checks: Sequence[tuple[dict[str, Any], Row]],
    expected_of: Callable[[Row], list[str]],
) -> None:
    """Walk `field` under each filter; it must list exactly the ids `expected_of(test)` gives.

    Each check must expect some rows, so a filter that wrongly matches nothing cannot pass.
    """
    for filter, test in checks:
        expected = expected_of(test)
        assert expected, filter
        assert await walk(gql, tenant, field, filter=filter) == expected, filter


def ordered(
    items: Sequence[Any], key: Callable[[Any], Any], *, descending: bool, id_of: str = "id"
) -> list[str]:
    """Return the ids of `items` sorted on (key, id), as keyset pagination must list them."""
    ranked = sorted(items, key=lambda item: (key(item), getattr(item, id_of)), reverse=descending)
    return [str(getattr(item, id_of)) for item in ranked]


def error(body: dict[str, Any]) -> str:
    assert body.get("data") is None, body
    return str(body["errors"][0]["message"])
