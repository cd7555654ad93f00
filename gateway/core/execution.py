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

A value of the exact type a built-in scalar or a strawberry enum returns unchanged (a `str`
for String) skips the serializer's checks. A list of objects whose selected fields are all
direct (a page's tasks) is completed in one pass, without graphql-core's per-item
completion. And a resolver marked `answered_by(attribute)` — it returns that attribute
whenever a page has set it — is completed from the attribute without being called; for a
field with arguments (`answered_by(attribute, key=…)`), the attribute holds answers by the
key of their arguments, coerced once per selection (an incident's first page of tasks).

Anything unusual on the way — a null in a non-null position, a missing attribute, an
awaitable, a value the type does not coerce — sends that one field (or that list) down the
stock path, which reads it again and fails, or succeeds, exactly as graphql-core always did:
the same message, at the same path, propagated or collected the same way. Nothing is
skipped for operations that need every field to pass through a resolver: when a schema
extension has a `resolve` hook, the whole operation runs on the stock path.
"""

from base64 import b64encode
from collections.abc import Callable, Hashable
from math import isfinite
from typing import Any, NamedTuple, TypeVar

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    Undefined,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import to_nodes
from graphql.execution.values import get_argument_values
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel
from graphql.type.scalars import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    GraphQLID,
    serialize_boolean,
    serialize_float,
    serialize_id,
    serialize_int,
    serialize_string,
)
from strawberry import relay
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import CustomGraphQLEnumType, GraphQLCoreConverter
from strawberry.types.field import StrawberryField
from strawberry.types.unset import UNSET, UnsetType

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


_AS_IS: Any = object()


def _unchanged(leaf: GraphQLLeafType) -> Callable[[Any], Any] | None:
    """For the values `leaf` returns as they are (a `str` for String), return them at once.

    The check is on the exact type, so only values the built-in scalar, or strawberry's
    enum, would hand back unchanged (or name, for an enum) take it; anything else gets
    `_AS_IS` and goes through the type's own coercion.
    """
    coerce = leaf.coerce_output_value
    if coerce is serialize_string or coerce is serialize_id:
        return lambda value: value if type(value) is str else _AS_IS
    if coerce is serialize_boolean:
        return lambda value: value if type(value) is bool else _AS_IS
    if coerce is serialize_int:
        return lambda value: (
            value if type(value) is int and GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT else _AS_IS
        )
    if coerce is serialize_float:
        return lambda value: value if type(value) is float and isfinite(value) else _AS_IS
    if isinstance(leaf, CustomGraphQLEnumType):
        # Strawberry names a member by the first GraphQL value equal to the member's value.
        names: dict[Any, str] = {}
        for name, defined in leaf.values.items():
            names.setdefault(defined.value, name)
        members = leaf.wrapped_cls
        return lambda value: names.get(value.value, _AS_IS) if type(value) is members else _AS_IS
    return None


def _coerce(leaf: GraphQLLeafType, non_null: bool) -> Callable[[Any], Any]:
    """Complete one leaf value as graphql-core does, or return STOCK where it would fail."""
    coerce = leaf.coerce_output_value
    unchanged = _unchanged(leaf)

    def complete(value: Any) -> Any:
        if unchanged is not None:
            answer = unchanged(value)
            if answer is not _AS_IS:
                return answer
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
    named, _ = _unwrap(output)
    if named is not GraphQLID:
        return None

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
        # The text of `GlobalID(parent, str(node_id))`, which the ID scalar serializes.
        return b64encode(f"{parent}:{node_id}".encode()).decode()

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


_ANSWERED_BY = "__answered_by__"
Resolver = TypeVar("Resolver", bound=Callable[..., Any])
# Turns a field's arguments (by GraphQL name) into the key its answer is kept under (never
# None), or raises when they are not ones a page answers ahead (the resolver then explains).
ArgumentsKey = Callable[[dict[str, Any]], Hashable]


class _Known(NamedTuple):
    attribute: str
    key: ArgumentsKey | None


def answered_by(
    attribute: str, *, key: ArgumentsKey | None = None
) -> Callable[[Resolver], Resolver]:
    """Mark a resolver that, whenever its object's `attribute` is set (not UNSET), returns
    exactly that value: a page hands its nodes what they will show (`Preload`), and the
    executor then completes the value without calling the resolver through strawberry.

    A field with arguments names `key`: its attribute is then a dict of answers by
    `key(arguments)`, holding the arguments a page answered ahead (an incident's first page
    of tasks); any other arguments call the resolver.
    """

    def mark(resolver: Resolver) -> Resolver:
        setattr(resolver, _ANSWERED_BY, _Known(attribute, key))
        return resolver

    return mark


def _known_attribute(field: GraphQLField) -> _Known | None:
    """What `answered_by` named for the field's resolver, if it may be used."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or definition.extensions:
        return None
    resolver = definition.base_resolver
    if resolver is None:
        return None
    known: _Known | None = getattr(resolver._unbound_wrapped_func, _ANSWERED_BY, None)
    if known is None or (field.args and known.key is None):
        return None
    return known


# Keyed by the field definition's identity; definitions live as long as their schema.
_DIRECT: dict[int, tuple[GraphQLField, Direct | None]] = {}


def _streamed(field_details_list: FieldDetailsList) -> bool:
    """Whether the list field carries `@stream`, which only the stock path honours."""
    return any(
        directive.name.value == "stream"
        for details in field_details_list
        for directive in details.node.directives or ()
    )


def direct_answer(field: GraphQLField) -> Direct | None:
    """Return the direct answer of `field`, worked out once per field definition."""
    known = _DIRECT.get(id(field))
    if known is None or known[0] is not field:
        known = _DIRECT[id(field)] = (field, _direct(field))
    return known[1]


class _Planned(NamedTuple):
    """One response name of a selection: its fields and, if it has one, its direct answer.

    `known` names the attribute that holds a resolver's answer when it is set
    (`answered_by`), under `known_key` for a field with arguments, and `field` is the
    definition that answer is completed as.
    """

    response_name: str
    field_details_list: FieldDetailsList
    direct: Direct | None
    known: str | None = None
    field: GraphQLField | None = None
    known_key: Hashable = None


class _Plan(NamedTuple):
    """A selection's fields in order, and whether every one of them has a direct answer."""

    fields: list[_Planned]
    direct: bool


class GatewayExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, answering plain fields directly (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        # A `resolve` hook must see every field, plain or not.
        self._directly = manager is None or not manager.middlewares
        self._plans: dict[tuple[int, int], tuple[GroupedFieldSet, _Plan]] = {}

    def _plan(self, parent_type: GraphQLObjectType, fields: GroupedFieldSet) -> _Plan:
        """The selection's fields with their direct answers, worked out once per execution.

        A selection set is collected once per parent type and reused for every object of a
        list (`collect_subfields`), so its plan is too.
        """
        plan_key = (id(parent_type), id(fields))
        seen = self._plans.get(plan_key)
        if seen is not None and seen[0] is fields:
            return seen[1]
        planned = []
        for response_name, field_details_list in fields.items():
            field = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
            if field is None:
                planned.append(_Planned(response_name, field_details_list, None))
                continue
            known, arguments_key = self._known(field, field_details_list)
            direct = direct_answer(field)
            planned.append(
                _Planned(response_name, field_details_list, direct, known, field, arguments_key)
            )
        plan = _Plan(planned, all(entry.direct is not None for entry in planned))
        self._plans[plan_key] = (fields, plan)
        return plan

    def _known(
        self, field: GraphQLField, field_details_list: FieldDetailsList
    ) -> tuple[str | None, Hashable]:
        """The attribute holding the field's answer ahead, and the key of its arguments.

        The arguments are the same for every object the selection is collected for (one
        field node, one set of variables), so they are read once per plan; arguments the
        stock path would refuse, or that no page answers ahead, leave the field to it.
        """
        known = _known_attribute(field)
        if known is None:
            return None, None
        if known.key is None:
            return known.attribute, None
        try:
            arguments = get_argument_values(field, field_details_list[0].node, self.variable_values)
            return known.attribute, known.key(arguments)
        except Exception:  # the stock path reports it, at the field's path
            return None, None

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        """Complete a list of objects whose selected fields are all direct in one pass.

        Each item is checked (`is_type_of`) and answered field by field, without the
        per-item completion the stock path goes through; at the first item or field that
        is anything but plain, the whole list is completed the stock way instead.
        """
        if self._directly and position_context is None and isinstance(result, list | tuple):
            completed = self._complete_directly(return_type, field_details_list, info, result)
            if completed is not None:
                return completed
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _complete_directly(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        items: list[Any] | tuple[Any, ...],
    ) -> list[dict[str, Any]] | None:
        item_type, _ = _unwrap(return_type.of_type)
        if not isinstance(item_type, GraphQLObjectType) or _streamed(field_details_list):
            return None
        fields, new_defer_usages, _ = self.collect_subfields(item_type, field_details_list)
        plan = self._plan(item_type, fields)
        if new_defer_usages or not plan.direct:
            return None
        is_type_of = item_type.is_type_of
        is_awaitable = self.is_awaitable
        parent = item_type.name
        completed = []
        for item in items:
            if item is None or isinstance(item, Exception) or is_awaitable(item):
                return None
            if is_type_of is not None and is_type_of(item, info) is not True:
                return None
            answers = {}
            for entry in plan.fields:
                answer = entry.direct(item, parent)  # type: ignore[misc]  # the plan: all direct
                if answer is STOCK:
                    return None
                answers[entry.response_name] = answer
            completed.append(answers)
        return completed

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
            for response_name, field_details_list, direct, known, field, key in self._plan(
                parent_type, grouped_field_set
            ).fields:
                if direct is not None:
                    answer = direct(source_value, parent)
                    if answer is not STOCK:
                        results[response_name] = answer
                        continue
                value = UNSET if known is None else getattr(source_value, known, UNSET)
                if key is not None:
                    value = value.get(key, UNSET) if isinstance(value, dict) else UNSET
                if not isinstance(value, UnsetType) and not is_awaitable(value):
                    result = self._complete_known(
                        parent_type,
                        field,  # type: ignore[arg-type]  # planned with its field
                        field_details_list,
                        Path(path, response_name, parent),
                        value,
                        position_context,
                    )
                else:
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

    def _complete_known(
        self,
        parent_type: GraphQLObjectType,
        field: GraphQLField,
        field_details_list: FieldDetailsList,
        path: Path,
        value: Any,
        position_context: Any,
    ) -> AwaitableOrValue[Any]:
        """Complete the value a resolver would have returned, as `Executor.execute_field` does
        with what a resolver returns: same info, same completion, same error handling."""
        return_type = field.type
        info = self.build_resolve_info(field, to_nodes(field_details_list), parent_type, path)
        try:
            completed = self.complete_value(
                return_type, field_details_list, info, path, value, position_context
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        if not self.is_awaitable(completed):
            return completed

        async def await_completed() -> Any:
            try:
                return await completed
            except Exception as raw_error:
                self.handle_field_error(raw_error, return_type, field_details_list, path)
                return None

        return await_completed()
