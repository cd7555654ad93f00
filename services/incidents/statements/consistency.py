"""One core message across channels (一致性原则): key facts carried, figures that agree.

A statement is flagged for two reasons, each stored as a dict on `statement.flags`:

- ``missing_fact``: it does not carry a key fact's value. A fact is carried when its
  normalised value occurs in the normalised body, or, for a value holding figures, when the
  body states every one of those figures (so 2026年3月5日 is carried by 2026-03-05 and
  12.5万元 by ¥125,000). ``{"kind", "label", "expected", "found", "channel"}`` where
  ``found`` lists the body's figures of the same units (or is None) and ``channel`` is the
  statement's own channel.
- ``conflict``: for some unit, the statement and another channel's current statement both
  state figures of that unit and have not one figure in common — WeChat says 3批次, Weibo
  says 4批次. ``{"kind", "quantity", "unit", "expected", "found", "channel"}`` where
  ``expected`` is what the other channel (``channel``) states and ``found`` what this
  statement states. A statement stating two dates and another stating one of them is not a
  conflict: a short Weibo post naming a subset of the figures is normal, and with no way to
  tell which date is which, only sets with nothing in common are reported.

Figures are compared as `figures` reads them.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Channel, StatementStatus
from libs.database.tables import Statement
from services.incidents.statements import repository
from services.incidents.statements.figures import Quantity, extract_quantities, text_key

MISSING_FACT = "missing_fact"
CONFLICT = "conflict"


@dataclass(frozen=True)
class StatementText:
    """What the checks need of a statement: an id, its channel and its body."""

    key: str
    channel: str
    body: str


@dataclass(frozen=True)
class Fact:
    """A key fact: a label and the value every statement must carry."""

    label: str
    value: str


def _joined(quantities: Iterable[Quantity]) -> str:
    shown: list[str] = []
    for quantity in quantities:
        if quantity.shown() not in shown:
            shown.append(quantity.shown())
    return "、".join(shown)


def _carries(fact: Fact, body_key: str, stated: Sequence[Quantity]) -> bool:
    value_key = text_key(fact.value)
    if value_key and value_key in body_key:
        return True
    wanted = extract_quantities(fact.value)
    return bool(wanted) and all(any(w.same_as(s) for s in stated) for w in wanted)


def missing_facts(
    statement: StatementText, facts: Sequence[Fact], stated: Sequence[Quantity]
) -> list[dict[str, Any]]:
    """Return a flag for each key fact `statement` does not carry."""
    body_key = text_key(statement.body)
    flags: list[dict[str, Any]] = []
    for fact in facts:
        if _carries(fact, body_key, stated):
            continue
        units = {(q.quantity, q.unit) for q in extract_quantities(fact.value)}
        same_unit = [q for q in stated if (q.quantity, q.unit) in units]
        flags.append(
            {
                "kind": MISSING_FACT,
                "label": fact.label,
                "expected": fact.value,
                "found": _joined(same_unit) or None,
                "channel": statement.channel,
            }
        )
    return flags


def _by_unit(quantities: Sequence[Quantity]) -> dict[tuple[str, str], list[Quantity]]:
    grouped: dict[tuple[str, str], list[Quantity]] = {}
    for quantity in quantities:
        grouped.setdefault((quantity.quantity, quantity.unit), []).append(quantity)
    return grouped


def conflicts(
    statement: StatementText,
    stated: Sequence[Quantity],
    others: Sequence[tuple[StatementText, Sequence[Quantity]]],
) -> list[dict[str, Any]]:
    """Return a flag for each unit where another channel states figures sharing none."""
    mine = _by_unit(stated)
    flags: list[dict[str, Any]] = []
    for other, other_stated in others:
        if other.channel == statement.channel:
            continue
        theirs = _by_unit(other_stated)
        for key in sorted(mine.keys() & theirs.keys()):
            if any(a.same_as(b) for a in mine[key] for b in theirs[key]):
                continue
            flags.append(
                {
                    "kind": CONFLICT,
                    "quantity": key[0],
                    "unit": key[1],
                    "expected": _joined(theirs[key]),
                    "found": _joined(mine[key]),
                    "channel": other.channel,
                }
            )
    return flags


def compute_flags(
    statements: Sequence[StatementText], facts: Sequence[Fact]
) -> dict[str, list[dict[str, Any]]]:
    """Return every statement's flags against the facts and the other statements given."""
    stated = {s.key: extract_quantities(s.body) for s in statements}
    result: dict[str, list[dict[str, Any]]] = {}
    for statement in statements:
        others = [(o, stated[o.key]) for o in statements if o.key != statement.key]
        result[statement.key] = missing_facts(statement, facts, stated[statement.key]) + conflicts(
            statement, stated[statement.key], others
        )
    return result


def describe(flags: Sequence[dict[str, Any]]) -> str:
    """Return the flags as one English sentence, for a refusal's message."""
    parts: list[str] = []
    for flag in flags:
        if flag["kind"] == MISSING_FACT:
            parts.append(f"missing key fact {flag['label']!r} ({flag['expected']})")
        else:
            parts.append(
                f"{flag['unit']} states {flag['found']} where {flag['channel']} states "
                f"{flag['expected']}"
            )
    return "; ".join(parts)


# --- the incident's statements ------------------------------------------------------------


def current_statements(statements: Sequence[Statement]) -> list[Statement]:
    """Return each channel's current statement: its unpublished one, else its latest published.

    At most one statement per channel is unpublished (drafting refuses a second), so this
    needs no tie-break on timestamps.
    """
    chosen: dict[str, Statement] = {}
    for statement in statements:
        held = chosen.get(statement.channel)
        if held is None or _newer(statement, held):
            chosen[statement.channel] = statement
    return list(chosen.values())


def _newer(candidate: Statement, held: Statement) -> bool:
    candidate_live = candidate.status != StatementStatus.PUBLISHED
    held_live = held.status != StatementStatus.PUBLISHED
    if candidate_live != held_live:
        return candidate_live
    return (candidate.published_at or candidate.created_at) > (held.published_at or held.created_at)


async def refresh_flags(
    session: AsyncSession, incident_id: uuid.UUID
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Recompute and store the flags of the incident's current statements; return them.

    Statements a newer one of the same channel superseded keep the flags they last had,
    as a record; they are no longer compared.
    """
    statements = await repository.statements_of(session, incident_id)
    facts = [Fact(f.label, f.value) for f in await repository.key_facts(session, incident_id)]
    # Channel order (WeChat first) keeps the flags' order stable whatever the timestamps.
    order = list(Channel)
    current = sorted(current_statements(statements), key=lambda s: order.index(Channel(s.channel)))
    texts = [StatementText(key=str(s.id), channel=s.channel, body=s.body) for s in current]
    computed = compute_flags(texts, facts)
    result: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for statement in current:
        flags = computed[str(statement.id)]
        if statement.flags != flags:
            statement.flags = flags
            session.add(statement)
        result[statement.id] = flags
    await session.flush()
    return result
