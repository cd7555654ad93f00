"""Count and time every GraphQL operation, and the subscriptions open now.

An operation is labelled by its first root field (`incidents`, `acknowledgeIncident`): the
schema bounds those, while operation names are whatever clients choose. The outcome is `ok`,
`invalid` (refused before running: a syntax error, an unknown field, a limit) or `error`
(it ran and answered errors). A subscription counts as active from its validation to its
end, and its seconds are how long it stayed open.
"""

import time
from collections.abc import AsyncIterator

from graphql import FieldNode, OperationDefinitionNode, get_operation_ast
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from libs.metrics.definitions import (
    GRAPHQL_OPERATION_SECONDS,
    GRAPHQL_OPERATIONS,
    GRAPHQL_SUBSCRIPTIONS_ACTIVE,
)

UNKNOWN = "unknown"


class OperationMetrics(SchemaExtension):
    """The gateway's operation metrics, one instance per operation."""

    _validated = False
    _subscribed = False

    async def on_operation(self) -> AsyncIterator[None]:
        """Time the whole operation; count it once it ends."""
        started = time.perf_counter()
        try:
            yield
        finally:
            if self._subscribed:
                GRAPHQL_SUBSCRIPTIONS_ACTIVE.dec()
            operation = self._operation()
            kind = operation.operation.value if operation is not None else UNKNOWN
            GRAPHQL_OPERATIONS.labels(
                operation=_root_field(operation), type=kind, outcome=self._outcome()
            ).inc()
            GRAPHQL_OPERATION_SECONDS.labels(type=kind).observe(time.perf_counter() - started)

    async def on_validate(self) -> AsyncIterator[None]:
        """Note a valid subscription as active."""
        yield
        context = self.execution_context
        self._validated = not context.pre_execution_errors
        if self._validated and context.operation_type is OperationType.SUBSCRIPTION:
            self._subscribed = True
            GRAPHQL_SUBSCRIPTIONS_ACTIVE.inc()

    def _operation(self) -> OperationDefinitionNode | None:
        context = self.execution_context
        if context.graphql_document is None:
            return None
        return get_operation_ast(context.graphql_document, context.operation_name)

    def _outcome(self) -> str:
        context = self.execution_context
        if not self._validated:
            return "invalid"
        result = context.result
        errors = getattr(result, "errors", None) if result is not None else None
        return "error" if errors else "ok"


def _root_field(operation: OperationDefinitionNode | None) -> str:
    if operation is None:
        return UNKNOWN
    for selection in operation.selection_set.selections:
        if isinstance(selection, FieldNode):
            return selection.name.value
    return UNKNOWN
