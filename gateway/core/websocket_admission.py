"""Admit queries and mutations sent over a WebSocket like HTTP requests.

An HTTP request is admitted before its operation runs; an operation started on an open
WebSocket is admitted here, so the per-key rate limit and key revocation apply on both
transports. Subscriptions admit themselves in their resolvers (`gateway.core.live.start`),
because only an error raised there reaches the client as the protocol's `error` message;
over HTTP they are refused here, since plain HTTP cannot carry a stream.
"""

from collections.abc import AsyncIterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from gateway.auth import AuthError
from gateway.core.context import GatewayContext


def refusal(exc: AuthError) -> GraphQLError:
    """Turn a refused key into an error that names its code, like the HTTP answer does."""
    extensions: dict[str, object] = {"code": exc.code}
    if exc.retry_after is not None:
        extensions["retryAfter"] = exc.retry_after
    return GraphQLError(exc.message, extensions=extensions)


async def admit(context: GatewayContext) -> None:
    """Admit one operation of a WebSocket connection, or raise a GraphQLError saying why."""
    try:
        await context.admit()
    except AuthError as exc:
        raise refusal(exc) from exc


SOCKET_ONLY = (
    "Subscriptions are served over a WebSocket on /graphql with the graphql-transport-ws protocol."
)


class WebSocketAdmission(SchemaExtension):
    """Admit each query or mutation a WebSocket starts; refuse subscriptions over HTTP."""

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if isinstance(context, GatewayContext):
            subscription = self.execution_context.operation_type is OperationType.SUBSCRIPTION
            if subscription and not context.websocket:
                raise GraphQLError(SOCKET_ONLY)
            if context.websocket:
                # The connection's context outlives each operation: read afresh every time.
                context.fresh_loaders()
                if not subscription:
                    await admit(context)
        yield
