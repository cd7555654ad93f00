"""The GraphQL the command line sends (`crisiswatch demo`, `crisiswatch drill`) is valid
against the schema it ships with and reads nothing deprecated, so no command breaks on the
day a deprecated field is removed."""

from functools import cache

import pytest
from graphql import GraphQLError, GraphQLSchema, build_schema, parse, specified_rules, validate
from graphql.validation import NoDeprecatedCustomRule

from crisiswatch import demo, drill
from gateway.print_schema import render

DOCUMENTS = {
    f"{module.__name__}.{name}": value
    for module in (demo, drill)
    for name, value in vars(module).items()
    if name.isupper()
    and isinstance(value, str)
    and value.lstrip().startswith(("query", "mutation", "subscription", "{"))
}


@cache
def _schema() -> GraphQLSchema:
    """The schema this checkout serves, built once for every document."""
    return build_schema(render())


def test_the_commands_send_documents() -> None:
    assert {"crisiswatch.demo.INCIDENTS", "crisiswatch.drill.END_DRILL"} <= set(DOCUMENTS)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_a_command_document_is_valid_and_current(name: str) -> None:
    errors: list[GraphQLError] = validate(
        _schema(), parse(DOCUMENTS[name]), [*specified_rules, NoDeprecatedCustomRule]
    )
    assert [error.message for error in errors] == []
