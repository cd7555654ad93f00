"""uvicorn's access line as fields: client, method, path, status, for a query to filter on."""

from collections.abc import MutableMapping
from typing import Any
from urllib.parse import unquote

ACCESS_LOGGER = "uvicorn.access"


def access_fields(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Processor: split an access record's arguments into fields and keep a short message.

    uvicorn logs `'%s - "%s %s HTTP/%s" %d'` with (client, method, path, version, status);
    the record itself is left as it is (other handlers may format it too).
    """
    args = event.pop("positional_args", None)
    # uvicorn's second, ANSI-coloured copy of some messages.
    event.pop("color_message", None)
    record = event.get("_record")
    if record is None or record.name != ACCESS_LOGGER:
        return event
    if isinstance(args, tuple) and len(args) == 5:
        client, method, quoted, version, status = args
        # Decoded, so masking sees `li.lei@example.com` where the URL says `li.lei%40...`.
        path = unquote(str(quoted))
        event.update(client=client, method=method, path=path, http_version=version, status=status)
        event["event"] = f"{method} {path} {status}"
    return event
