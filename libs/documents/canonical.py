"""Canonical JSON and its SHA-256: the form a filed document is hashed and signed in.

Keys sorted, no spaces, UTF-8 kept as is: the same content always gives the same bytes, so
a recipient who parses the document and dumps it again the same way gets the same digest.
Times are ISO 8601 in UTC in documents and Beijing time on pages for people.
"""

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

BEIJING = timezone(timedelta(hours=8), "UTC+8")


def canonical_json(body: Any) -> str:
    """Return `body` as canonical JSON text: sorted keys, no spaces, non-ASCII kept."""
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256_hex(text: str) -> str:
    """Return the lowercase hex SHA-256 of `text` encoded as UTF-8."""
    return hashlib.sha256(text.encode()).hexdigest()


def iso_utc(moment: datetime) -> str:
    """Return `moment` as ISO 8601 in UTC with a `Z`."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def iso_utc_or_none(moment: datetime | None) -> str | None:
    """Return `moment` as ISO 8601 in UTC, or None."""
    return iso_utc(moment) if moment is not None else None


def beijing(moment: datetime) -> str:
    """Return `moment` in Beijing time as people read it on a filed page."""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S（北京时间）")


def web_link(url: str | None) -> str | None:
    """Return `url` if it is a web link; anything else must not become a link on a page."""
    return url if url and url.startswith(("https://", "http://")) else None
