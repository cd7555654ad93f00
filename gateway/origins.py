"""Which browser origins may call the gateway, over HTTP (CORS) and WebSocket alike.

Keys travel in the `Authorization` header or in `connection_init`, never in cookies, so a
page on another origin gains nothing it did not bring: credentials stay off, and the list
(`CORS_ALLOWED_ORIGINS`) says whose pages a browser lets read the answers. One list serves
both transports, since browsers apply CORS to HTTP but not to the WebSocket handshake,
whose `Origin` the gateway checks itself. A client that sends no `Origin` is no browser
and is not affected; neither is a page on the gateway's own origin.
"""

import re
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from libs.settings import Settings

# What a console sends besides the key: its body's type, the media types it accepts, and
# the client name and version Apollo's tools add.
ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "Accept",
    "apollographql-client-name",
    "apollographql-client-version",
)
# Answers a script must be able to read: the remaining budget and when to try again.
EXPOSED_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After")
_ORIGIN = re.compile(
    r"(?P<scheme>https?)://(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(?P<port>\d+|\*))?"
)


@dataclass(frozen=True)
class AllowedOrigins:
    """Origins allowed exactly, and origins allowed on any port (`http://localhost:*`)."""

    exact: frozenset[str]
    any_port: frozenset[str]
    everyone: bool = False

    @classmethod
    def parse(cls, listed: str) -> "AllowedOrigins":
        """Read a comma-separated list; raise ValueError naming an entry that is no origin."""
        exact: set[str] = set()
        any_port: set[str] = set()
        everyone = False
        for entry in (item.strip() for item in listed.split(",")):
            if not entry:
                continue
            if entry == "*":
                everyone = True
                continue
            match = _ORIGIN.fullmatch(entry.rstrip("/"))
            if match is None:
                raise ValueError(
                    f"CORS_ALLOWED_ORIGINS: {entry!r} is not an origin such as "
                    "`https://console.example.com` or `http://localhost:*`"
                )
            base = f"{match['scheme']}://{match['host']}".lower()
            if match["port"] == "*":
                any_port.add(base)
            else:
                exact.add(f"{base}:{match['port']}" if match["port"] else base)
        return cls(frozenset(exact), frozenset(any_port), everyone)

    @classmethod
    def from_settings(cls, settings: Settings) -> "AllowedOrigins":
        """Return the origins `CORS_ALLOWED_ORIGINS` lists."""
        return cls.parse(settings.cors_allowed_origins)

    @property
    def regex(self) -> str | None:
        """A pattern matching every allowed origin, for Starlette's CORS middleware."""
        if self.everyone:
            return ".*"
        if not self.exact and not self.any_port:
            return None
        exact = [re.escape(origin) for origin in sorted(self.exact)]
        ports = [re.escape(origin) + r"(?::\d+)?" for origin in sorted(self.any_port)]
        return "|".join(exact + ports)

    def allows(self, origin: str) -> bool:
        """Whether a page on `origin` (as a browser sends it) may call the gateway."""
        pattern = self.regex
        return pattern is not None and re.fullmatch(pattern, origin.lower()) is not None


def add_cors(app: FastAPI, origins: AllowedOrigins, max_age_seconds: int) -> None:
    """Answer preflights and mark answers readable for the allowed origins.

    Added last, so it wraps every other layer: a 413 or a 429 reaches the page's script too,
    which can then show why rather than an opaque network error.
    """
    app.add_middleware(
        CORSMiddleware,
        allow_origin_regex=origins.regex,
        allow_credentials=False,
        allow_methods=("GET", "POST"),
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        max_age=max_age_seconds,
    )
