"""What a chat alert holds, and how its texts are written, before any platform's markup.

A person glancing at a group chat should see at once what happened, how severe it is
(tier with its colour name), which watchlist, why, where to click, and what is due when.
`renderers.build_card` fills a `Card` from an event; `chat.py` lays it out per platform.

Every piece of payload text goes through `clean`: `mask_text` (no clear phone numbers,
e-mail addresses or ID card numbers in a chat group), one line, and none of the characters
chat markdown uses for links and mentions, so a mention's text cannot add a link or @all to
the alert.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from libs.contracts.enums import EventType, Tier
from libs.contracts.vocabulary import TIER_COLOURS, TIER_MARKS, TIER_SEVERITY
from libs.privacy import mask_text

# China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact and
# needs no time-zone database.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

MAX_REASONS = 3
MAX_DEADLINES = 6
TEXT_LIMIT = 200
TITLE_LIMIT = 60
_WHITESPACE = re.compile(r"\s+")
# Characters chat markdown reads as links, mentions (<at>, <@user>) or HTML.
_MARKUP = str.maketrans({"<": "＜", ">": "＞", "[": "［", "]": "］", "`": "｀"})

DRILL_LABEL = "【演练】"
"""Put before the title of whatever a drill sends, so no one takes it for a real crisis."""


@dataclass(frozen=True)
class Deadline:
    """One thing due: what, when (Beijing time, MM-DD HH:MM) and how it stands."""

    title: str
    due: str
    note: str | None = None


@dataclass(frozen=True)
class Card:
    """A platform-neutral alert: every text is already masked and free of markup."""

    event_type: EventType
    title: str
    tier: Tier | None
    watchlist: str | None
    facts: tuple[tuple[str, str], ...]
    reasons: tuple[str, ...]
    deadlines: tuple[Deadline, ...]
    link: str | None
    extra_links: tuple[tuple[str, str], ...]
    occurred: str
    # (platform, handle) of the people the alert @-mentions; each platform's body picks its own.
    mentions: tuple[tuple[str, str], ...] = ()

    def handles(self, platform: str) -> list[str]:
        """Return the handles to @-mention on `platform`, in order, each once."""
        return list(dict.fromkeys(h for p, h in self.mentions if p == platform))

    @property
    def tier_text(self) -> str | None:
        """Return e.g. 红色预警（严重）, or None when the event says nothing of a tier."""
        return warning(self.tier) if self.tier is not None else None

    @property
    def headline(self) -> str:
        """Return the title with the tier's coloured mark in front, for plain-text titles."""
        return f"{TIER_MARKS[self.tier]} {self.title}" if self.tier else self.title


def warning(tier: Tier) -> str:
    """Return the tier as a warning with its severity: 红色预警（严重）."""
    return f"{TIER_COLOURS[tier]}预警（{TIER_SEVERITY[tier]}）"


def incident_link(console_url: str | None, incident_id: object) -> str | None:
    """Return the console page of the incident: `{incident_id}` filled in, or the id appended."""
    if not console_url or incident_id is None or not str(incident_id):
        return None
    identifier = str(incident_id)
    if "{incident_id}" in console_url:
        return console_url.replace("{incident_id}", identifier)
    return f"{console_url.rstrip('/')}/{identifier}"


def local_time(value: datetime, *, with_year: bool = False) -> str:
    """Return `value` in Beijing time, 03-01 16:00 (or 2025-03-01 16:00); naive means UTC."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M" if with_year else "%m-%d %H:%M")


def clean(value: object, limit: int = TEXT_LIMIT) -> str:
    """Return payload text fit for a card: masked, on one line, markup-free, at most `limit`."""
    text = _WHITESPACE.sub(" ", mask_text(str(value))).strip().translate(_MARKUP)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def link_target(url: str) -> str:
    """Return a link target that carries no clear contact data and no markdown breakers."""
    return mask_text(url).replace(" ", "%20").replace(")", "%29").replace("(", "%28")
