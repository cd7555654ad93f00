"""Execution that answers plain fields without graphql-core's per-field machinery.

A console page is mostly values read straight off its objects: an incident's `title`, a
task's `dueAt` and `status`, every node's `id`. graphql-core executes each like any other
field: a path, a resolve info, strawberry's resolver wrapper with its argument conversion,
then the completion of the non-null wrapper and of the scalar; some 5 µs a field, which
over the 1,600 fields of an incidents page was most of what the page cost the gateway.

`GatewayExecutor` answers three kinds of field directly, and everything else as before:
- a *plain leaf*: no resolver, arguments, permission classes or field extensions
  (strawberry gives such a field its default resolver, which reads the attribute), of a
  scalar or enum type, maybe non-null: read the attribute, coerce it with the type's own
  `coerce_output_value`, as the stock path ends up doing;
- a *list of plain leaves* (`matchedKeywords`), item by item the same way;
- a Relay node's `id`, when the node's class keeps strawberry's own `resolve_id` and
  `resolve_typename`: the global id of the parent type's name and the `NodeID` attribute,
  as strawberry's resolver builds it.

Anything unusual on the way — a null in a non-null position, a missing attribute, an
awaitable, a value the type does not coerce — sends that one field down the stock path,
which reads it again and fails, or succeeds, exactly as graphql-core always did: the same
message, at the same path, propagated or collected the same way. Nothing is skipped for
operations that need every field to pass through a resolver: when a schema extension has a
`resolve` hook, the whole operation runs on the stock path.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    Undefined,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel
from strawberry import relay
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

# A direct answer is a function of (source, parent type name) that returns the completed
# value, or `STOCK` when the field must take the stock path.
Direct = Callable[[Any, str], Any]
STOCK: Any = object()

_RELAY_RESOLVE_ID = relay.Node.resolve_id.__func__  # type: ignore[attr-defined]
_RELAY_RESOLVE_TYPENAME = relay.Node.resolve_typename.__func__  # type: ignore[attr-defined]
# The function behind the `id` field strawberry gives every node.
_RELAY_ID = relay.Node.__dict__["_id"].__func__


def _unwrap(output: GraphQLOutputType) -> tuple[GraphQLOutputType, bool]:
    """The type inside a non-null wrapper, and whether there was one."""
    if isinstance(output, GraphQLNonNull):
        return output.of_type, True
    return output, False


def _coerce(leaf: GraphQLLeafType, non_null: bool) -> Callable[[Any], Any]:
    """Complete one leaf value as graphql-core does, or return STOCK where it would fail."""
    coerce = leaf.coerce_output_value

    def complete(value: Any) -> Any:
        if value is None or value is Undefined:
            return STOCK if non_null else None
        if isinstance(value, Exception):
            return STOCK
        try:
            coerced = coerce(value)
        except Exception:  # the stock path raises it, at the field's path
            return STOCK
        if coerced is None or coerced is Undefined:
            return STOCK
        return coerced

    return complete


def _plain_leaf(read: Callable[[Any, str], Any], attribute: str, output: Any) -> Direct | None:
    named, non_null = _unwrap(output)
    if not is_leaf_type(named):
        return None
    complete = _coerce(named, non_null)

    def direct(source: Any, _parent: str) -> Any:
        try:
            value = read(source, attribute)
        except Exception:  # the stock path raises it, at the field's path
            return STOCK
        return complete(value)

    return direct


def _plain_leaf_list(read: Callable[[Any, str], Any], attribute: str, output: Any) -> Direct | None:
    listed, non_null = _unwrap(output)
    if not isinstance(listed, GraphQLList):
        return None
    named, items_non_null = _unwrap(listed.of_type)
    if not is_leaf_type(named):
        return None
    complete = _coerce(named, items_non_null)

    def direct(source: Any, _parent: str) -> Any:
        try:
            values = read(source, attribute)
        except Exception:  # the stock path raises it, at the field's path
            return STOCK
        if values is None:
            return STOCK if non_null else None
        if not isinstance(values, list | tuple):
            return STOCK
        completed = [complete(value) for value in values]
        return STOCK if any(item is STOCK for item in completed) else completed

    return direct


_NODE_ID_ATTRIBUTES: dict[type, str | None] = {}


def _node_id_attribute(node: type) -> str | None:
    """The `NodeID` attribute of a node class that resolves its id as strawberry does."""
    if node not in _NODE_ID_ATTRIBUTES:
        attribute = None
        if (
            issubclass(node, relay.Node)
            and getattr(node.resolve_id, "__func__", None) is _RELAY_RESOLVE_ID
            and getattr(node.resolve_typename, "__func__", None) is _RELAY_RESOLVE_TYPENAME
        ):
            attribute = node.resolve_id_attr()
        _NODE_ID_ATTRIBUTES[node] = attribute
    return _NODE_ID_ATTRIBUTES[node]


def _node_id(output: Any) -> Direct | None:
    named, non_null = _unwrap(output)
    if not is_leaf_type(named):
        return None
    complete = _coerce(named, non_null)

    def direct(source: Any, parent: str) -> Any:
        attribute = _node_id_attribute(type(source))
        if attribute is None:
            return STOCK
        try:
            node_id = getattr(source, attribute)
        except Exception:  # the stock path raises it, at the field's path
            return STOCK
        if node_id is None:
            return STOCK
        return complete(relay.GlobalID(type_name=parent, node_id=str(node_id)))

    return direct


def _direct(field: GraphQLField) -> Direct | None:
    """How to answer `field` directly, or None when it always takes the stock path."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or field.args or definition.extensions:
        return None
    resolver = definition.base_resolver
    if resolver is None:
        # Strawberry marks the resolver it gives a field with nothing to run but a read.
        if not getattr(field.resolve, "_is_default", False):
            return None
        read, attribute = definition.default_resolver, definition.python_name
        return _plain_leaf(read, attribute, field.type) or _plain_leaf_list(
            read, attribute, field.type
        )
    if resolver._unbound_wrapped_func is _RELAY_ID:
        return _node_id(field.type)
    return None


# Keyed by the field definition's identity; definitions live as long as their schema.
_DIRECT: dict[int, tuple[GraphQLField, Direct | None]] = {}


def direct_answer(field: GraphQLField) -> Direct | None:
    """Return the direct answer of `field`, worked out once per field definition."""
    known = _DIRECT.get(id(field))
    if known is None or known[0] is not field:
        known = _DIRECT[id(field)] = (field, _direct(field))
    return known[1]


class _Planned(NamedTuple):
    """One response name of a selection: its fields and, if it has one, its direct answer."""

    response_name: str
    field_details_list: FieldDetailsList
    direct: Direct | None


class GatewayExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, answering plain fields directly (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        # A `resolve` hook must see every field, plain or not.
        self._directly = manager is None or not manager.middlewares
        self._plans: dict[tuple[int, int], tuple[GroupedFieldSet, list[_Planned]]] = {}

    def _plan(self, parent_type: GraphQLObjectType, fields: GroupedFieldSet) -> list[_Planned]:
        """The selection's fields with their direct answers, worked out once per execution.

        A selection set is collected once per parent type and reused for every object of a
        list (`collect_subfields`), so its plan is too.
        """
        key = (id(parent_type), id(fields))
        known = self._plans.get(key)
        if known is not None and known[0] is fields:
            return known[1]
        plan = []
        for response_name, field_details_list in fields.items():
            field = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
            direct = direct_answer(field) if field is not None else None
            plan.append(_Planned(response_name, field_details_list, direct))
        self._plans[key] = (fields, plan)
        return plan

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """`Executor.execute_fields`, with the fields that can be answered directly so."""
        if not self._directly:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        parent = parent_type.name
        try:
            for response_name, field_details_list, direct in self._plan(
                parent_type, grouped_field_set
            ):
                if direct is not None:
                    answer = direct(source_value, parent)
                    if answer is not STOCK:
                        results[response_name] = answer
                        continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                # As the stock executor does: settle what other fields started.
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                (name,) = awaitable_fields
                results[name] = await results[name]
            else:
                awaited = await gather_with_cancel(*(results[name] for name in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()
