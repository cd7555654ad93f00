"""Serve the reference console's files on /console, with headers that confine the page."""

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
PATH = "/console"

# The page runs only its own files, yet may call whichever gateway the person names, since
# a console is often served from another origin than the API it talks to.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self' http: https: ws: wss:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidated on every load, so a new release of the files is picked up at once.
    "Cache-Control": "no-cache",
}


class ConsoleFiles(StaticFiles):
    """Static files that each carry the console's security headers."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(HEADERS)
        return response


def add_console(app: FastAPI) -> None:
    """Serve the console at /console/ (its index page) and the files beside it."""
    app.mount(PATH, ConsoleFiles(directory=STATIC, html=True), name="console")
