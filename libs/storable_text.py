"""Strings PostgreSQL cannot store, found in what a client sent before any query sees them.

A `text` column cannot hold U+0000, and a string with an unpaired surrogate (which JSON's
`\\ud800` escape can produce) cannot be encoded as UTF-8. Sent on, either fails inside the
driver as an unexpected error whose message quotes the SQL statement; found first, it is bad
input the sender can fix, refused by the name of the field that carries it.
"""

import json
from collections.abc import Iterator, Mapping


def is_storable(text: str) -> bool:
    """Whether PostgreSQL text can hold `text`: no NUL character, valid UTF-8."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(name: str) -> str:
    """Return `name` with what cannot be stored escaped, so it can be quoted back safely."""
    return name if is_storable(name) else json.dumps(name)[1:-1]


def unstorable_fields(value: object, path: str = "") -> Iterator[str]:
    """Yield the path of every string (key or value) in decoded JSON that text cannot hold.

    Paths read like a field a client knows: `mentions[2].author.handle`; the whole value is
    named by `path` itself.
    """
    if isinstance(value, str):
        if not is_storable(value):
            yield path
    elif isinstance(value, Mapping):
        for key, item in value.items():
            name = str(key)
            child = f"{path}.{printable(name)}" if path else printable(name)
            if not is_storable(name):
                yield child
            yield from unstorable_fields(item, child)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from unstorable_fields(item, f"{path}[{index}]")
