"""Refuse, before anything runs, a string argument that PostgreSQL text cannot hold.

A NUL character (or an unpaired surrogate) in a filter, a name or any other string would reach
a query and fail there as an unexpected database error. Every string a client sends arrives
either as a literal in the document or in the variables, so both are read once here, for
every field, instead of each resolver checking its own arguments. The refusal is an error
with code `InvalidInput` whose `field` names the argument (`filter.text`) or the variable
(`$filter.text`) at fault.
"""

from collections.abc import Iterator, Mapping
from itertools import islice
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    ListValueNode,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
    VariableDefinitionNode,
    Visitor,
    visit,
)
from strawberry.extensions import SchemaExtension

from libs.storable_text import is_storable, unstorable_fields

CODE = "InvalidInput"
# One error per field at fault, up to this many: enough to fix a request, never a flood.
MAX_REPORTED = 10
WHY = "cannot hold a NUL character or an unpaired surrogate; remove it and send again."


def _literal_paths(value: ValueNode, path: str) -> Iterator[str]:
    """Yield the path of every string literal inside `value` that text cannot hold."""
    if isinstance(value, StringValueNode):
        if not is_storable(value.value):
            yield path
    elif isinstance(value, ObjectValueNode):
        for field in value.fields:
            yield from _literal_paths(field.value, f"{path}.{field.name.value}")
    elif isinstance(value, ListValueNode):
        for index, item in enumerate(value.values):
            yield from _literal_paths(item, f"{path}[{index}]")


class _Literals(Visitor):
    """Collect the string literals a document passes to fields, directives and defaults."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[GraphQLError] = []

    def _arguments(self, node: FieldNode | DirectiveNode, owner: str) -> None:
        for argument in node.arguments or ():
            for path in _literal_paths(argument.value, argument.name.value):
                self.errors.append(
                    GraphQLError(
                        f"Argument `{path}` of `{owner}` {WHY}",
                        nodes=[argument],
                        extensions={"code": CODE, "field": path},
                    )
                )

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        self._arguments(node, node.name.value)

    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        self._arguments(node, f"@{node.name.value}")

    def enter_variable_definition(self, node: VariableDefinitionNode, *_: Any) -> None:
        if node.default_value is not None:
            for path in _literal_paths(node.default_value, f"${node.variable.name.value}"):
                self.errors.append(
                    GraphQLError(
                        f"The default of `{path}` {WHY}",
                        nodes=[node],
                        extensions={"code": CODE, "field": path},
                    )
                )


def unstorable_input(
    document: DocumentNode, variables: Mapping[str, Any] | None
) -> list[GraphQLError]:
    """Return one error per string in the document or the variables that text cannot hold."""
    literals = _Literals()
    visit(document, literals)
    errors = literals.errors
    for path in unstorable_fields(variables or {}):
        field = f"${path}"
        errors.append(
            GraphQLError(f"Variable `{field}` {WHY}", extensions={"code": CODE, "field": field})
        )
    return list(islice(errors, MAX_REPORTED))


class RefuseUnstorableText(SchemaExtension):
    """Answer an operation that carries unstorable text with `InvalidInput` errors, unrun.

    It must come after the validation cache among the extensions: a document that is not
    valid is answered with its validation errors first, and a valid one's (cached, shared)
    error list is replaced, never appended to.
    """

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if not context.pre_execution_errors and context.graphql_document is not None:
            errors = unstorable_input(context.graphql_document, context.variables)
            if errors:
                context.pre_execution_errors = errors
        yield
