"""Reading what clients send: global ids, times without an offset, closed choices, names.

A global id of the wrong type is refused with an error naming the field, never read as "no
match", so a client passing a Mention id where a Watchlist id belongs learns it at once.
"""

import dataclasses
import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from strawberry import relay

from gateway.core.errors import GatewayError


def parse_uuid(value: str) -> uuid.UUID | None:
    """Return `value` as a UUID, or None when it is not one."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def local_id(global_id: relay.GlobalID, type_name: str) -> uuid.UUID | None:
    """Return the row id inside a global id of `type_name`, or None for any other id."""
    if global_id.type_name != type_name:
        return None
    return parse_uuid(global_id.node_id)


def require_id(global_id: relay.GlobalID, type_name: str, field: str) -> uuid.UUID:
    """Return the row id inside a global id that must be of `type_name`; `field` names it."""
    row_id = local_id(global_id, type_name)
    if row_id is None:
        article = "an" if type_name[0] in "AEIOU" else "a"
        raise GatewayError(f"`{field}` must be {article} {type_name} id.")
    return row_id


def optional_id(global_id: relay.GlobalID | None, type_name: str, field: str) -> uuid.UUID | None:
    """Return the row id of an optional global id that must be of `type_name` when given."""
    return require_id(global_id, type_name, field) if global_id is not None else None


def input_fields(given: Any, *, but: Collection[str] = ()) -> dict[str, Any]:
    """Return the fields of the input `given` by name, those named in `but` left out: an
    input whose fields are a command's own is passed on whole, so neither list can drift."""
    return {
        field.name: getattr(given, field.name)
        for field in dataclasses.fields(given)
        if field.name not in but
    }


def as_utc(moment: datetime) -> datetime:
    """Read a time without an offset as UTC, never as the server's local time."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def contains_pattern(text: str) -> str:
    """Return an ILIKE pattern matching `text` anywhere, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def check_choice(value: str | None, allowed: tuple[str, ...], field: str) -> str | None:
    """Return `value` if it is one of `allowed`; refuse it naming `field` otherwise."""
    if value is not None and value not in allowed:
        raise GatewayError(f"`{field}` must be one of {', '.join(allowed)}; got {value!r}.")
    return value


def camel(name: str) -> str:
    """Return a Python or service field name as clients spell it: `incident_id` → `incidentId`."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
