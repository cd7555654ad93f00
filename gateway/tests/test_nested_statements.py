"""A nested list's first-page statement is built once for every request and tenant.

It is bound with the organization and the parents when it runs, so nothing of one request
may be built into it: every declared list's statement must name the organization only
through its bound parameter and carry no other identifier.
"""

import uuid

import pytest
from sqlalchemy.dialects import postgresql

from gateway.core.nested import FIRST_PAGES_KEPT, NestedList
from gateway.core.pagination import PageRequest
from gateway.incidents import loaders as incident_lists
from gateway.stories import loaders as story_lists


def declared() -> list[NestedList]:
    return [
        value
        for module in (incident_lists, story_lists)
        for value in vars(module).values()
        if isinstance(value, NestedList)
    ]


def test_every_declared_list_is_checked() -> None:
    assert len(declared()) >= 6


@pytest.mark.parametrize("nested", declared(), ids=lambda nested: nested.kind)
@pytest.mark.parametrize("request_", [PageRequest(10), PageRequest(3, backward=True)])
def test_a_first_page_is_bound_with_the_organization_and_parents_only(
    nested: NestedList, request_: PageRequest
) -> None:
    dialect = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]
    compiled = nested.first_page(request_).compile(dialect=dialect)
    values = compiled.params
    assert {"nested_organization", "nested_parents"} <= set(values)
    assert values["nested_organization"] is None and values["nested_parents"] is None
    # Anything else bound is the page's size, never an id built in.
    others = {name: value for name, value in values.items() if not name.startswith("nested_")}
    assert all(isinstance(value, int) for value in others.values()), others
    assert not any(isinstance(value, uuid.UUID) for value in values.values())


def test_first_pages_are_kept_for_a_few_shapes_and_reused() -> None:
    nested = declared()[0]
    first = nested.first_page(PageRequest(10))
    assert nested.first_page(PageRequest(10)) is first
    for size in range(1, 40):
        nested.first_page(PageRequest(size))
    assert len(nested._first_pages) == FIRST_PAGES_KEPT
    assert (39, False) in nested._first_pages
