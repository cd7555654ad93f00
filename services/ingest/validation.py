"""Per-item validation: a bad item is rejected with its fields named, never blocking the rest."""

from typing import Any

from pydantic import TypeAdapter, ValidationError

from services.ingest.schemas import FieldError, MentionIn

_MENTION = TypeAdapter(MentionIn)


def field_path(prefix: str, loc: tuple[int | str, ...]) -> str:
    """Render a pydantic location as `mentions[2].author.handle`."""
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def errors_of(exc: ValidationError, prefix: str) -> list[FieldError]:
    """Turn pydantic errors into field/reason pairs."""
    return [
        FieldError(field=field_path(prefix, tuple(error["loc"])), reason=error["msg"])
        for error in exc.errors(include_url=False)
    ]


def validate_item(index: int, raw: Any) -> MentionIn | list[FieldError]:
    """Return the parsed mention, or the reasons it was rejected."""
    try:
        return _MENTION.validate_python(raw)
    except ValidationError as exc:
        return errors_of(exc, f"mentions[{index}]")
