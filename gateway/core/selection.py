"""What a connection's nodes were asked for, so a page can read it for all of them at once.

A connection knows which fields its nodes were asked for (`edges { node { … } }` or
`nodes { … }`, through fragments). For the nested objects a console asks for on every
page — a mention's author and analysis, an incident's tasks — a list reads them for the
whole page on its own connection, with the same tenant-scoped queries the DataLoaders run,
and hands them to the nodes (`Preload`). Their fields then answer at once instead of each
awaiting a DataLoader in a task of its own; a node built anywhere else (`node(id:)`, a
subscription) still loads through the DataLoaders.

The selection is read from graphql-core's own nodes, not strawberry's converted copy: it is
walked once per page, and arguments come out coerced as a resolver gets them (`10`, not
the literal's text `"10"`).
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionNode,
    get_named_type,
)
from graphql.execution.values import VariableValues, get_argument_values

from gateway.core.context import Info


@dataclass(frozen=True)
class NodeField:
    """A field selected on a connection's nodes, and its arguments as its resolver gets
    them; None when they do not coerce (its resolver then says why)."""

    name: str
    arguments: dict[str, Any] | None


def _raw(info: Info) -> GraphQLResolveInfo[Any]:
    # Strawberry's `Info` wraps graphql-core's; its converted selection loses the coercion.
    return info._raw_info


def _fields(
    selections: Iterable[SelectionNode], fragments: dict[str, FragmentDefinitionNode]
) -> Iterator[FieldNode]:
    """Yield the fields of a selection set, with those inside its fragments."""
    for selection in selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set.selections, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _fields(fragment.selection_set.selections, fragments)


def _children(node: FieldNode, fragments: dict[str, FragmentDefinitionNode]) -> Iterator[FieldNode]:
    if node.selection_set is not None:
        yield from _fields(node.selection_set.selections, fragments)


def node_selections(info: Info) -> list[NodeField]:
    """Return the fields selected on the nodes of the connection being resolved, through
    `edges { node }` and `nodes`, with their arguments (variables substituted).

    Directives are not evaluated: a field under `@skip` counts as asked for, which at worst
    reads rows nobody shows.
    """
    raw = _raw(info)
    fragments = raw.fragments
    node_type = _node_type(raw)
    variables = _variables(raw)
    found: list[NodeField] = []
    for connection in raw.field_nodes:
        for part in _children(connection, fragments):
            if part.name.value == "edges":
                nodes = [node for node in _children(part, fragments) if node.name.value == "node"]
            elif part.name.value == "nodes":
                nodes = [part]
            else:
                continue
            for node in nodes:
                found.extend(
                    _node_field(node_type, field, variables) for field in _children(node, fragments)
                )
    return found


def _variables(raw: GraphQLResolveInfo[Any]) -> VariableValues:
    """The operation's variables as graphql-core's argument coercion takes them (strawberry
    hands resolvers the plain dict of coerced values)."""
    variables: Any = raw.variable_values
    if isinstance(variables, VariableValues):
        return variables
    return VariableValues(sources={}, coerced=dict(variables or {}))


def _node_type(raw: GraphQLResolveInfo[Any]) -> GraphQLObjectType | None:
    """The type of the nodes of the connection `raw` resolves, when they have one type."""
    connection = get_named_type(raw.return_type)
    if not isinstance(connection, GraphQLObjectType) or "nodes" not in connection.fields:
        return None
    nodes = get_named_type(connection.fields["nodes"].type)
    return nodes if isinstance(nodes, GraphQLObjectType) else None


def _node_field(
    node_type: GraphQLObjectType | None, node: FieldNode, variables: VariableValues
) -> NodeField:
    name = node.name.value
    definition = node_type.fields.get(name) if node_type is not None else None
    if definition is None or not definition.args:
        return NodeField(name, {})
    try:
        return NodeField(name, get_argument_values(definition, node, variables))
    except Exception:  # refused arguments: the field's own resolution reports them
        return NodeField(name, None)


def node_fields(info: Info) -> frozenset[str]:
    """Return the names of the fields selected on the nodes of the connection being resolved
    (`node_selections`)."""
    return frozenset(field.name for field in node_selections(info))


def page_info_fields(info: Info) -> frozenset[str]:
    """Return the names of the fields selected on the `pageInfo` of the connection being
    resolved, so a page reads what only some of them need when they are asked for."""
    raw = _raw(info)
    fragments = raw.fragments
    return frozenset(
        field.name.value
        for connection in raw.field_nodes
        for page in _children(connection, fragments)
        if page.name.value == "pageInfo"
        for field in _children(page, fragments)
    )
