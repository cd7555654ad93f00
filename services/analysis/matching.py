"""Watchlist keyword matching: which watchlists a normalised post mentions, and by which words.

A watchlist matches when any of its keywords occurs in the text, ignoring case. Keywords
shared by several watchlists are searched once; a substring search per distinct keyword
is fast enough for the few hundred keywords an organization watches.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache


@dataclass(frozen=True)
class WatchlistRule:
    """A watchlist's id and keywords, as matching needs them."""

    id: uuid.UUID
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    """The watchlists a post matched and the keywords (as written in the watchlist) that hit."""

    watchlist_ids: list[uuid.UUID] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)


class Matcher:
    """An organization's watchlist rules, prepared for matching many posts."""

    def __init__(self, rules: Iterable[WatchlistRule]) -> None:
        self._owners: dict[str, list[tuple[uuid.UUID, str]]] = {}
        for rule in rules:
            for keyword in rule.keywords:
                folded = keyword.strip().casefold()
                if folded:
                    self._owners.setdefault(folded, []).append((rule.id, keyword))

    def match(self, text: str) -> Match:
        """Return the watchlists whose keywords appear in `text`, ignoring case."""
        folded_text = text.casefold()
        ids: list[uuid.UUID] = []
        keywords: list[str] = []
        for folded, owners in self._owners.items():
            if folded not in folded_text:
                continue
            for watchlist_id, keyword in owners:
                if watchlist_id not in ids:
                    ids.append(watchlist_id)
                if keyword not in keywords:
                    keywords.append(keyword)
        return Match(watchlist_ids=ids, keywords=keywords)


@lru_cache(maxsize=256)
def matcher_for(rules: tuple[WatchlistRule, ...]) -> Matcher:
    """Return a prepared matcher, reused while an organization's watchlists are unchanged."""
    return Matcher(rules)
