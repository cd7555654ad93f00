"""Every connection in the schema has the whole Relay shape, so no list can slip in half-done.

A connection type carries `edges`, `nodes`, `pageInfo`, `totalCount` and `totalCountIsExact`,
and every field that answers one pages both ways (`first`/`after`, `last`/`before`). Read from
the schema the gateway serves, so a new connection that forgets any of them fails here.
"""

from graphql import GraphQLNonNull, GraphQLObjectType, build_schema, get_named_type

from gateway.print_schema import render

CONNECTION_FIELDS = {"edges", "nodes", "pageInfo", "totalCount", "totalCountIsExact"}
PAGING_ARGUMENTS = {"first", "after", "last", "before"}


def _connections() -> dict[str, GraphQLObjectType]:
    schema = build_schema(render())
    return {
        name: kind
        for name, kind in schema.type_map.items()
        if name.endswith("Connection") and isinstance(kind, GraphQLObjectType)
    }


def test_every_connection_type_has_edges_nodes_page_info_and_its_total() -> None:
    connections = _connections()
    assert len(connections) > 20
    for name, kind in connections.items():
        assert set(kind.fields) >= CONNECTION_FIELDS, (name, CONNECTION_FIELDS - set(kind.fields))
        assert isinstance(kind.fields["totalCountIsExact"].type, GraphQLNonNull), name


def test_every_field_answering_a_connection_pages_both_ways() -> None:
    schema = build_schema(render())
    connections = _connections()
    fields = [
        (f"{owner}.{field_name}", field)
        for owner, kind in schema.type_map.items()
        if isinstance(kind, GraphQLObjectType) and not owner.startswith("__")
        for field_name, field in kind.fields.items()
        if get_named_type(field.type).name in connections
    ]
    assert len(fields) > 20
    for path, field in fields:
        assert set(field.args) >= PAGING_ARGUMENTS, (path, PAGING_ARGUMENTS - set(field.args))
