"""The GraphQL routes' HTTP behaviour: media types, status codes, persisted documents, GET.

GraphQL-over-HTTP: a client that accepts `application/graphql-response+json` (Apollo
Client sends it first) gets that media type, and a request error (a document that does not
parse or validate, or is refused before it runs) comes back as 4xx without `data`, so
caches, proxies and monitors see a failure as one. A client that asks for
`application/json`, or for anything (`*/*`, no `Accept`), keeps the answers it always got:
200 with the errors in the body. Whatever goes wrong before a document runs (a body that is
not JSON, a mutation over GET) is answered in the same GraphQL shape with a `code`, never as
plain text.

GET runs persisted queries only (`extensions.persistedQuery`; see `gateway.persisted`):
short URLs a CDN or the browser may cache, and no document text in access logs. Queries
only; a mutation over GET is 405.
"""

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from fastapi import Request, Response
from graphql import GraphQLError, GraphQLFormattedError
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.schema.base import BaseSchema
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult, SubscriptionExecutionResult
from strawberry.types.unset import UNSET

from gateway.core.context import GatewayContext
from gateway.origins import AllowedOrigins
from gateway.persisted.errors import PersistedQueryError
from gateway.persisted.resolve import PersistedDocuments

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
GET_PERSISTED_ONLY = (
    "GET runs persisted queries only (`extensions.persistedQuery`); send other documents with POST."
)
# Refusals of a document that mean "later", not "never": 429 rather than 400.
TOO_MANY = frozenset({"RateLimited", "CostBudgetExhausted"})
_MEDIA = "graphql_media_type"
_STATUS = "graphql_status"


def negotiate(accept: str | None) -> str:
    """Return the media type to answer with for an `Accept` header.

    `application/graphql-response+json` only when listed by name at least as high as
    `application/json`; a wildcard or no header means a client of before the spec.
    """
    if not accept:
        return JSON
    weights: dict[str, float] = {}
    for entry in accept.split(","):
        kind, *parameters = (part.strip() for part in entry.split(";"))
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[kind.lower()] = max(weight, weights.get(kind.lower(), 0.0))
    preferred = weights.get(GRAPHQL_RESPONSE, 0.0)
    plain = max(weights.get(JSON, 0.0), weights.get("application/*", 0.0), weights.get("*/*", 0.0))
    return GRAPHQL_RESPONSE if preferred > 0 and preferred >= plain else JSON


def graphql_media_type(request: Request) -> str:
    """The media type this request's answer is given in (also for refused keys)."""
    return negotiate(request.headers.get("accept"))


def is_request_error(result: ExecutionResult) -> bool:
    """Whether the document never ran: no data, and no error belongs to a field."""
    return (
        result.data is None and bool(result.errors) and all(not e.path for e in result.errors or ())
    )


def request_error_status(errors: Sequence[GraphQLError]) -> int:
    """400 for a document refused for what it is; 429 for one refused for now."""
    codes = {(error.extensions or {}).get("code") for error in errors}
    return 429 if codes & TOO_MANY else 400


def _code(status: int) -> str:
    """`BadRequest`, `MethodNotAllowed`…: the code of a refusal named by its status."""
    try:
        return HTTPStatus(status).phrase.replace(" ", "").replace("-", "")
    except ValueError:
        return "BadRequest"


class GraphQLHTTPRouter(GraphQLRouter[GatewayContext, None]):
    """Strawberry's router with the gateway's media types, statuses, origins and documents."""

    def __init__(
        self,
        schema: BaseSchema,
        *,
        origins: AllowedOrigins,
        documents: PersistedDocuments,
        **options: Any,
    ) -> None:
        super().__init__(schema, graphql_ide=None, allow_queries_via_get=True, **options)
        self.origins = origins
        self.documents = documents

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        """A page on another origin may open a socket when CORS_ALLOWED_ORIGINS lists it.

        Called only for a cross-origin handshake: no `Origin` (not a browser) and the
        gateway's own origin are always let through.
        """
        return self.origins.allows(origin)

    def encode_json(self, data: object) -> str | bytes:
        """Encode an answer or a socket message with orjson: a page of 1,600 fields in a tenth
        of the time the standard library's encoder takes, text kept as UTF-8 rather than
        `\\u` escapes. Text, not bytes: a WebSocket sends bytes as binary frames, which
        graphql-transport-ws does not allow. Whatever orjson refuses (an integer past 64
        bits, a key that is not a string) is encoded as before."""
        try:
            return orjson.dumps(data).decode()
        except TypeError:  # orjson.JSONEncodeError is one
            return super().encode_json(data)

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """Never here: GraphiQL has its own route in development (`gateway.graphiql`)."""
        return False

    async def run(  # type: ignore[override]
        self,
        request: Request | WebSocket,
        context: GatewayContext = UNSET,
        root_value: None = UNSET,
    ) -> Response | WebSocket:
        if isinstance(request, WebSocket):
            return await super().run(request, context, root_value)
        sub_response = await self.get_sub_response(request)
        media = graphql_media_type(request)
        setattr(request.state, _MEDIA, media)
        try:
            response = await super().run(request, context, root_value)
        except HTTPException as exc:
            cause = exc.__cause__
            if request.method == "GET" and isinstance(cause, InvalidOperationTypeError):
                exc = HTTPException(405, cause.as_http_error_reason("GET"))
            error: GraphQLFormattedError = {
                "message": exc.reason,
                "extensions": {"code": _code(exc.status_code)},
            }
            return _refusal(exc.status_code, [error], media, sub_response)
        except PersistedQueryError as refused:
            # A well-formed request: 200 for `application/json` clients, as the spec asks.
            refused_status = 400 if media == GRAPHQL_RESPONSE else 200
            return _refusal(refused_status, [refused.formatted()], media, sub_response)
        status: int | None = getattr(request.state, _STATUS, None)
        if status is not None:
            response.status_code = status
        if response.media_type == JSON or response.headers.get("content-type") == JSON:
            response.headers["content-type"] = media
        if request.method == "GET":
            # What a cache may reuse depends on the key and on the media type asked for.
            response.headers["vary"] = "Accept, Authorization"
        return response

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: GatewayContext,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        if isinstance(request_data, list):  # refused while parsing: batching is off
            return await super().execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response
            )
        resolved = await self.documents.resolve(
            context.redis, request_data.query, request_data.extensions
        )
        if request_adapter.method == "GET" and resolved.digest is None:
            raise HTTPException(400, GET_PERSISTED_ONLY)
        request_data.query = resolved.query
        result = await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )
        if isinstance(result, ExecutionResult) and not is_request_error(result):
            await self.documents.keep(context.redis, resolved)
        return result

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        answer = await super().process_result(request, result)
        if getattr(request.state, _MEDIA, JSON) == GRAPHQL_RESPONSE and is_request_error(result):
            setattr(request.state, _STATUS, request_error_status(result.errors or []))
            answer.pop("data", None)
        return answer


def _refusal(
    status: int, errors: list[GraphQLFormattedError], media: str, sub_response: Response
) -> Response:
    """A request refused before its document ran, in the GraphQL shape, with the admission's
    `RateLimit-*` headers."""
    response = JSONResponse({"errors": errors}, status_code=status, media_type=media)
    response.headers.update(sub_response.headers)
    if status == 405:
        response.headers["allow"] = "POST"
    return response
