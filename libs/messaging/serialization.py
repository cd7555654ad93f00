"""JSON for every job and result on the queues; never pickle, which would run code on load."""

from typing import Any

import orjson


def dumps(value: dict[str, Any]) -> bytes:
    """Serialize a job or a result."""
    return orjson.dumps(value, default=_fallback)


def loads(raw: bytes) -> dict[str, Any]:
    """Deserialize a job or a result."""
    value: dict[str, Any] = orjson.loads(raw)
    return value


def _fallback(value: Any) -> Any:
    """Render what orjson cannot (arq puts exceptions in failed results) as text."""
    return repr(value)
