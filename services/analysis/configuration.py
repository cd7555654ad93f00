"""Commands that change what analysis looks for: watchlists (rules, dictionary) and lexicons.

Rules are parsed and validated here, before they are stored, so a stored rule always
compiles and the worker never meets a bad one; a refusal names the field and, for a rule,
the position of the problem.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import (
    CommandResult,
    CreateWatchlist,
    SetSensitiveTerms,
    UpdateWatchlist,
)
from libs.database.tables import Watchlist
from libs.quotas import WATCHLISTS, room_for_one_more
from libs.text import normalize
from services.analysis.repository import watchlists
from services.analysis.rules import RuleError, keywords_query, parse
from services.analysis.sensitive import LexiconError, TermOverride, validate_override

MAX_KEYWORDS = 200
MAX_KEYWORD_LENGTH = 100


def clean_keywords(raw: Sequence[str]) -> list[str] | CommandResult:
    """Normalise keywords like mention text, drop repeats, or explain why they are refused."""
    keywords: list[str] = []
    seen: set[str] = set()
    for value in raw:
        keyword = normalize(value)
        if not keyword:
            return CommandResult.failure("Invalid", "keywords must not be blank", field="keywords")
        if len(keyword) > MAX_KEYWORD_LENGTH:
            return CommandResult.failure(
                "Invalid",
                f"keyword {keyword[:20]!r}… is longer than {MAX_KEYWORD_LENGTH} characters",
                field="keywords",
            )
        if keyword.casefold() not in seen:
            seen.add(keyword.casefold())
            keywords.append(keyword)
    if len(keywords) > MAX_KEYWORDS:
        return CommandResult.failure(
            "Invalid", f"at most {MAX_KEYWORDS} keywords are allowed", field="keywords"
        )
    return keywords


def clean_query(raw: str | None, keywords: Sequence[str]) -> str | CommandResult:
    """Return the canonical rule: the given query, or any of the keywords when there is none."""
    if raw is None or not raw.strip():
        if not keywords:
            return CommandResult.failure(
                "Invalid", "give a query or at least one keyword", field="query"
            )
        raw = keywords_query(keywords)
    try:
        return parse(normalize(raw)).to_query()
    except RuleError as error:
        return CommandResult.failure("Invalid", _rule_message(error), field="query")


def _rule_message(error: RuleError) -> str:
    return f"{error.message} (at column {error.position + 1})"


def _watchlist_data(watchlist: Watchlist) -> dict[str, object]:
    return {
        "id": str(watchlist.id),
        "name": watchlist.name,
        "keywords": list(watchlist.keywords),
        "query": watchlist.query,
        "kind": watchlist.kind,
        "created_at": watchlist.created_at.isoformat(),
        "updated_at": watchlist.updated_at.isoformat(),
    }


async def create_watchlist(
    session: AsyncSession, command: CreateWatchlist, *, now: datetime, quota: int = 0
) -> CommandResult:
    """Create a watchlist, refusing a bad rule, bad keywords, a name already in use, or one
    past the organization's `quota` of watchlists (0: none): every watchlist is matched
    against every mention its organization pushes, on workers other organizations share."""
    name = normalize(command.name)
    if not name:
        return CommandResult.failure("Invalid", "name must not be blank", field="name")
    keywords = clean_keywords(command.keywords)
    if isinstance(keywords, CommandResult):
        return keywords
    query = clean_query(command.query, keywords)
    if isinstance(query, CommandResult):
        return query
    refused = await room_for_one_more(
        session,
        Watchlist,
        command.organization_id,
        quota=WATCHLISTS,
        limit=quota,
        noun="watchlists",
    )
    if refused is not None:
        return refused
    watchlist = await watchlists.insert_watchlist(
        session, command.organization_id, name, keywords, query, now, command.kind.value
    )
    if watchlist is None:
        return CommandResult.failure(
            "Conflict", f"a watchlist named {name!r} already exists", field="name"
        )
    return CommandResult.success(**_watchlist_data(watchlist))


async def update_watchlist(
    session: AsyncSession, command: UpdateWatchlist, *, now: datetime
) -> CommandResult:
    """Change a watchlist's name, keywords or rule; what is omitted stays."""
    watchlist = await watchlists.watchlist_for_update(
        session, command.organization_id, command.watchlist_id, renaming=command.name is not None
    )
    if watchlist is None:
        return CommandResult.failure("NotFound", "no such watchlist", field="watchlistId")
    if command.name is not None:
        name = normalize(command.name)
        if not name:
            return CommandResult.failure("Invalid", "name must not be blank", field="name")
        if await watchlists.name_taken(
            session, command.organization_id, name, other_than=watchlist.id
        ):
            return CommandResult.failure(
                "Conflict", f"a watchlist named {name!r} already exists", field="name"
            )
        watchlist.name = name
    hand_written = _own_query(watchlist)
    if command.keywords is not None:
        keywords = clean_keywords(command.keywords)
        if isinstance(keywords, CommandResult):
            return keywords
        watchlist.keywords = keywords
    if command.query is not None or command.keywords is not None:
        query = clean_query(
            command.query if command.query is not None else hand_written,
            watchlist.keywords,
        )
        if isinstance(query, CommandResult):
            return query
        watchlist.query = query
    if command.kind is not None:
        watchlist.kind = command.kind.value
    watchlist.updated_at = now
    session.add(watchlist)
    await session.flush()
    return CommandResult.success(**_watchlist_data(watchlist))


def _own_query(watchlist: Watchlist) -> str | None:
    """Keep a hand-written rule when only keywords change; regenerate one made from keywords."""
    generated = keywords_query(watchlist.keywords) if watchlist.keywords else None
    return None if watchlist.query == generated else watchlist.query


async def set_sensitive_terms(
    session: AsyncSession, command: SetSensitiveTerms, *, now: datetime
) -> CommandResult:
    """Validate and apply lexicon changes; nothing changes if one entry is refused."""
    overrides: list[TermOverride] = []
    for position, entry in enumerate(command.upsert):
        try:
            overrides.append(validate_override(entry.term, entry.category.value, entry.weight))
        except LexiconError as error:
            return CommandResult.failure(
                "Invalid", str(error), field=f"upsert[{position}].{error.field}"
            )
    remove = [normalize(t).lower() for t in command.remove if normalize(t)]
    await watchlists.upsert_sensitive_terms(
        session, command.organization_id, overrides, remove, now
    )
    return CommandResult.success(upserted=[o.term for o in overrides], removed=sorted(set(remove)))
