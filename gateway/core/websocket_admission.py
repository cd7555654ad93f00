"""Admit WebSocket connections, and queries and mutations sent over them, like HTTP requests.

A socket's `connection_init` is admitted like a request (counted against the address, key
and organization budgets) and holds one of its key's sockets (`gateway.open_sockets`) until
it closes. An HTTP request is admitted before its operation runs; an operation started on an
open WebSocket is admitted here, so the rate limits and key revocation apply on both
transports. Subscriptions admit themselves in their resolvers (`gateway.core.live.start`),
because only an error raised there reaches the client as the protocol's `error` message;
over HTTP they are refused here, since plain HTTP cannot carry a stream.
"""

from collections.abc import AsyncIterator, Mapping

from graphql import GraphQLError
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage
from strawberry.types.graphql import OperationType

from gateway.auth import AuthError
from gateway.core.context import GatewayContext

# graphql-transport-ws close codes: the server refuses the connection, or the client is
# over a budget (the protocol's "too many requests").
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_MANY = 4429
# A close frame's reason is at most 123 bytes.
REASON_BYTES = 123


class SocketRefusedError(Exception):
    """A `connection_init` refused: the socket is closed with `code` and `reason`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason.encode()[:REASON_BYTES].decode(errors="ignore")


def connection_authorization(params: object) -> str | None:
    """Return the `authorization` entry of `connection_init`'s payload, in any letter case."""
    if not isinstance(params, Mapping):
        return None
    for name, value in params.items():
        if isinstance(name, str) and name.lower() == "authorization" and isinstance(value, str):
            return value
    return None


async def sign_in(context: GatewayContext) -> None:
    """Admit a socket's `connection_init` and hold one of its key's sockets, or refuse it.

    The key comes from the payload's `authorization` (what browser clients can send), else
    from the upgrade request's Authorization header.
    """
    authorization = connection_authorization(context.connection_params)
    if authorization is None:
        authorization = context.authorization
    socket = context.request
    if context.gate is None or not isinstance(socket, WebSocket):
        raise SocketRefusedError(CLOSE_FORBIDDEN, "Forbidden")
    try:
        admitted = await context.gate.admit(authorization, context.address)
    except AuthError as exc:
        code = CLOSE_TOO_MANY if exc.status_code == 429 else CLOSE_FORBIDDEN
        raise SocketRefusedError(code, exc.message) from exc
    sockets = context.gate.sockets
    if not sockets.hold(admitted.principal.key_id, socket):
        raise SocketRefusedError(
            CLOSE_TOO_MANY,
            f"This key holds {sockets.per_key} open sockets on this server; close one first.",
        )
    context.sign_in(admitted.principal, authorization or "")


class AdmittingTransportWS(BaseGraphQLTransportWSHandler[GatewayContext, None]):
    """graphql-transport-ws that closes a refused `connection_init` with its own code and
    reason, and releases the key's socket when the connection ends."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except SocketRefusedError as refused:
            await self.websocket.close(code=refused.code, reason=refused.reason)

    async def handle(self) -> None:
        try:
            await super().handle()
        finally:
            context = self.context
            if context.gate is not None and isinstance(context.request, WebSocket):
                context.gate.sockets.release(context.request)


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
