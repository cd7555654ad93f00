"""Price every operation before it runs, and say so in the response's `extensions`.

Runs after the key was admitted (over HTTP by the request, over a WebSocket by
`WebSocketAdmission`, listed before this), for queries, mutations and subscriptions alike.
An operation dearer than the per-document maximum is refused without being charged; one
that does not fit the organization's budget for the minute is refused with `retryAfter`.
Every query's and mutation's answer carries `extensions.cost`: `requested`, `limit` (the
per-document maximum) and, with a budget, `budgetRemaining` (as GitHub and Shopify do).

A statement PostgreSQL cut at `statement_timeout` fails its fields with a plain "took too
long" error instead of the driver's message (or, outside development, "Unexpected error").
"""

from collections.abc import AsyncIterator

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from gateway.core.context import GatewayContext
from gateway.cost import budget
from gateway.cost.analysis import operation_cost
from libs.database.engine import is_statement_timeout

TOO_LONG = (
    "This took too long and was stopped; ask for less at once (a shorter window, "
    "smaller pages, fewer fields)."
)


class CostLimit(SchemaExtension):
    """Refuse operations over `max_cost` or over the organization's `per_minute` budget."""

    def __init__(self, *, max_cost: int, per_minute: int) -> None:
        self.max_cost = max_cost
        self.per_minute = per_minute
        self.cost: dict[str, int] = {}

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        if isinstance(context, GatewayContext) and execution.graphql_document is not None:
            await self._charge(context)
        yield
        result = execution.result
        if isinstance(result, ExecutionResult) and result.errors:
            result.errors = [_explained(error) for error in result.errors]

    async def _charge(self, context: GatewayContext) -> None:
        execution = self.execution_context
        assert execution.graphql_document is not None
        cost = operation_cost(
            execution.schema._schema,
            execution.graphql_document,
            execution.operation_name,
            execution.variables,
        )
        self.cost = {"requested": cost, "limit": self.max_cost}
        if cost > self.max_cost:
            raise GraphQLError(
                f"This operation would cost {cost:,}; one operation may cost at most "
                f"{self.max_cost:,}. Ask for smaller pages, a shorter window or fewer aliases.",
                extensions={"code": "TooExpensive", "cost": cost, "limit": self.max_cost},
            )
        spent = await budget.spend(
            context.redis, context.principal.organization_id, cost, self.per_minute
        )
        if spent.limit:
            self.cost["budgetRemaining"] = spent.remaining
        if not spent.allowed:
            raise GraphQLError(
                f"Your organization may spend {spent.limit:,} a minute on GraphQL and has "
                f"{spent.remaining:,} left; this operation costs {cost:,}. Try again in "
                f"{spent.retry_after} s.",
                extensions={
                    "code": "CostBudgetExhausted",
                    "cost": cost,
                    "budgetRemaining": spent.remaining,
                    "retryAfter": spent.retry_after,
                },
            )

    def get_results(self) -> dict[str, object]:
        # A subscription is charged once, when it starts; its events do not repeat the price.
        if not self.cost or self.execution_context.operation_type is OperationType.SUBSCRIPTION:
            return {}
        return {"cost": self.cost}


def _explained(error: GraphQLError) -> GraphQLError:
    """Replace a statement cut by `statement_timeout` with an error a client can act on."""
    if error.original_error is None or not is_statement_timeout(error.original_error):
        return error
    return GraphQLError(
        TOO_LONG, nodes=error.nodes, path=error.path, extensions={"code": "StatementTimeout"}
    )
