"""Request bodies read by hand: the size limit first, then JSON, then the model.

FastAPI does not parse the POST bodies itself, so an oversized body is refused before it is
read (or, sent chunked without a length, as soon as it passes the limit while arriving), the
idempotency hash sees the exact bytes, and a batch's items are judged one by one.
"""

from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError

from services.ingest.problems import ProblemError, errors_of, invalid_request

MAX_BODY_BYTES = 8 * 1024 * 1024

Model = TypeVar("Model", bound=BaseModel)


async def read_body(request: Request) -> bytes:
    """Read the body, refusing one over the size limit before reading it when its length is
    declared, else as soon as the bytes received pass the limit (never after buffering it)."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def parse_body(body: bytes, model: type[Model], expected: str) -> Model:
    """Decode a JSON object into `model`, naming each bad field; `expected` says what to send."""
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ProblemError(422, "Invalid request", f"body: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ProblemError(422, "Invalid request", f"body: expected {expected}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_request(errors_of(exc, "")) from exc


def _too_large() -> ProblemError:
    return ProblemError(413, "Payload too large", f"the body is over {MAX_BODY_BYTES} bytes")
