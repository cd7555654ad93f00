"""Queries for watchlists that only list keywords, so they go through the same matcher."""

from collections.abc import Sequence

from services.analysis.rules.syntax import quote_term


def keywords_query(keywords: Sequence[str]) -> str:
    """Return a query matching a post that contains any of `keywords`.

    Keywords are kept as written (parsing folds them); ones with spaces, operator
    characters or the words AND/OR/NOT are quoted so they stay one term. Blank and
    repeated keywords are dropped; no keywords at all give an empty query, which `parse`
    rejects.
    """
    kept: list[str] = []
    seen: set[str] = set()
    for keyword in keywords:
        stripped = " ".join(keyword.split())
        if stripped and stripped.casefold() not in seen:
            seen.add(stripped.casefold())
            kept.append(stripped)
    return " | ".join(quote_term(keyword) for keyword in kept)
