"""GraphiQL on `GET /graphql`, in development only, for a person in a browser.

It answers a bare GET (no query string) without asking for a key: GraphiQL sends the key
from its headers pane with each operation. A GET with a query string is a persisted query
(`?extensions=…`) and goes on to the GraphQL routes, which ask for the key.
"""

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope
from strawberry.http.ides import get_graphql_ide_html


class BareGetRoute(APIRoute):
    """A route that matches only requests without a query string."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE and scope.get("query_string"):
            return Match.NONE, {}
        return match, child


def add_graphiql(app: FastAPI) -> None:
    """Serve GraphiQL on a bare `GET /graphql`; add it before the GraphQL routes."""
    page = get_graphql_ide_html("graphiql")

    async def graphql_ide() -> HTMLResponse:
        return HTMLResponse(page)

    app.router.add_api_route(
        "/graphql",
        graphql_ide,
        methods=["GET"],
        response_class=HTMLResponse,
        include_in_schema=False,
        route_class_override=BareGetRoute,
    )
