"""A document's cost, estimated from the schema before anything runs.

The cost estimates the rows an operation makes the database produce, times how deeply they
nest (docs/graphql.md#cost):

- a scalar or enum field costs 0: it is read with its row;
- an object field costs 1 (its row) plus the cost of what is selected under it;
- a list of objects costs its size × (1 + the cost of one element's selection), the size
  being its `first` or `limit` argument, the number of `ids` given, or a default page
  (`DEFAULT_PAGE_SIZE`) when the field takes no size;
- a connection costs 1 (its page query) + `first` or `last` (default page size) × the cost
  of its selection, where `edges` and `pageInfo` are wrappers that cost nothing themselves
  and each edge's `node`, like each of its `nodes`, is one row (1 + its selection);
- a field in `weights.WEIGHTS` multiplies its own cost by its weight (the dashboard by the
  days it covers);
- fragments count where they are spread; every branch of an abstract type is counted, and
  `@skip`/`@include` are ignored, so the estimate is an upper bound.

So `mentions(first: 50) { edges { node { text author { handle } } } }` costs
1 + 50 × (1 + 1) = 101, and a 400-day `dashboard { volume(bucket: DAY) { total } }` costs
400 × (1 + 20 × 1) = 8,400.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values

from gateway.core.pagination import DEFAULT_PAGE_SIZE
from gateway.cost.weights import WEIGHTS

# The fields of a Relay connection and its edges that only wrap the rows.
WRAPPERS = frozenset({"edges", "pageInfo", "cursor"})
# A connection's `nodes`: the page's rows without their edges, one row per item like `node`.
NODES = "nodes"
SIZE_ARGUMENTS = ("first", "last", "limit")


@dataclass
class _Walk:
    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: VariableValues | None
    spreading: set[str] = field(default_factory=set)


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    """Return the estimated cost of the operation `operation_name` names (or the only one)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        op
        for op in operations
        if operation_name is None or (op.name is not None and op.name.value == operation_name)
    ]
    if len(chosen) != 1:
        return 0  # execution refuses an ambiguous or unknown operation by itself
    operation = chosen[0]
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    coerced = get_variable_values(
        schema, operation.variable_definitions or (), dict(variables or {})
    )
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    # Variables that do not fit their types fail execution anyway: estimate with defaults.
    walk = _Walk(schema, fragments, coerced if isinstance(coerced, VariableValues) else None)
    return _selection_cost(walk, operation.selection_set, root)


def _selection_cost(walk: _Walk, selections: SelectionSetNode, parent: GraphQLNamedType) -> int:
    total = 0
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            total += _field_cost(walk, selection, parent)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            inner = walk.schema.get_type(condition.name.value) if condition else parent
            total += _selection_cost(walk, selection.selection_set, inner or parent)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = walk.fragments.get(name)
            if fragment is None or name in walk.spreading:
                continue  # validation refuses unknown and cyclic fragments
            walk.spreading.add(name)
            inner = walk.schema.get_type(fragment.type_condition.name.value) or parent
            total += _selection_cost(walk, fragment.selection_set, inner)
            walk.spreading.discard(name)
    return total


def _field_cost(walk: _Walk, node: FieldNode, parent: GraphQLNamedType) -> int:
    if not isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
        return 0  # a union's own fields are only __typename
    definition = parent.fields.get(node.name.value)
    if definition is None:
        return 0  # __typename and introspection
    named = get_named_type(definition.type)
    if is_leaf_type(named) or node.selection_set is None:
        return 0
    below = _selection_cost(walk, node.selection_set, named)
    name = node.name.value
    if _is_connection(parent) and name in WRAPPERS:
        return below
    if _is_connection(parent) and name == NODES:
        return 1 + below
    try:
        arguments = get_argument_values(definition, node, walk.variables)
    except GraphQLError:
        arguments = {}  # execution refuses bad arguments by itself
    if _is_connection(named):
        cost = 1 + _size(arguments) * below
    elif is_list_type(get_nullable_type(definition.type)):
        cost = _size(arguments) * (1 + below)
    else:
        cost = 1 + below
    weight = WEIGHTS.get((parent.name, name))
    return cost * weight(arguments) if weight is not None else cost


def _is_connection(named: GraphQLNamedType) -> bool:
    return (
        isinstance(named, GraphQLObjectType)
        and named.name.endswith("Connection")
        and "edges" in named.fields
    )


def _size(arguments: Mapping[str, Any]) -> int:
    """The rows a list asks for: its size argument, the ids it names, or a default page."""
    for name in SIZE_ARGUMENTS:
        value = arguments.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return max(0, value)
    ids = arguments.get("ids")
    if isinstance(ids, list):
        return len(ids)
    return DEFAULT_PAGE_SIZE
