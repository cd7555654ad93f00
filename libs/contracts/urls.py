"""A link people will open: an absolute http(s) URL with a host, nothing a browser would run.

A statement's published URL is shown to every member of the organization as a link; a
`javascript:` or `data:` URL there would run in the reader's console when clicked. Only web
addresses are links, so only `http` and `https` with a host pass, and no whitespace or control
character a browser would strip (and so read a different scheme past).
"""

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

WEB_SCHEMES = frozenset({"http", "https"})


def web_link(value: str) -> str:
    """Return `value` if it is an absolute http(s) URL with a host, else refuse it."""
    if any(character <= " " or character == "\x7f" for character in value):
        raise PydanticCustomError("web_link", "must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unclosed `[` of an IPv6 host
        parts = None
    if parts is None or parts.scheme.lower() not in WEB_SCHEMES or not parts.hostname:
        raise PydanticCustomError("web_link", "must be an absolute http or https URL with a host")
    return value


WebLink = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(web_link)]
