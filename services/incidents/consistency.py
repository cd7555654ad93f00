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

Figures are extracted after normalisation — NFKC (full-width to half-width, ￥ to ¥),
traditional to simplified, spaces removed, thousands separators dropped, and Chinese
numerals (一二三…十百千万亿, 两, 〇) turned into digits — as (quantity, unit, value):

- dates: 2026年3月5日, 2026-03-05, 2026/3/5, 3月5日 (year-less; equal to any date with the
  same month and day); unit 日期.
- amounts: ¥1,200, 人民币500, 12.5万元, 300块; all in 元.
- counts: a number before a unit word (批次/批, 人/名/位, 件, 例, 家, 款, 台, 辆, 吨, 箱,
  盒, 瓶, 袋, 罐, 份, 小时, 分钟, 天, 周, 个月, 工作日, and %), with 万/千/亿 multipliers
  and an optional 个 (三个批次). 批 counts as 批次 and 名/位 as 人.

Ordinals (第3批次) are not quantities and are skipped. A lone 一 is read as 1 only before a
unit word, so 一致 or 再一次 never become figures; 次 and bare 个 are not units for the same
reason.
"""

import re
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Channel, StatementStatus
from libs.database.tables import KeyFact, Statement
from libs.text import to_simplified

MISSING_FACT = "missing_fact"
CONFLICT = "conflict"

DATE = "date"
AMOUNT = "amount"
COUNT = "count"

DATE_UNIT = "日期"
YUAN = "元"


# --- Chinese numerals -------------------------------------------------------------------

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_SMALL = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
_CN_RUN = re.compile("[零〇一二两三四五六七八九十百千万亿]+")

# Unit words, longest first so 批次 wins over 批 and 个月 over 个.
_COUNT_UNITS: dict[str, str] = {
    "工作日": "工作日",
    "批次": "批次",
    "小时": "小时",
    "分钟": "分钟",
    "个月": "个月",
    "人次": "人次",
    "批": "批次",
    "名": "人",
    "位": "人",
    "人": "人",
    "件": "件",
    "例": "例",
    "家": "家",
    "款": "款",
    "台": "台",
    "辆": "辆",
    "吨": "吨",
    "箱": "箱",
    "盒": "盒",
    "瓶": "瓶",
    "袋": "袋",
    "罐": "罐",
    "份": "份",
    "天": "天",
    "周": "周",
    "%": "%",
}
_UNIT_ALTERNATION = "|".join(re.escape(u) for u in sorted(_COUNT_UNITS, key=len, reverse=True))
_BEFORE_UNIT = re.compile(rf"个?(?:{_UNIT_ALTERNATION}|元|块)")


def parse_chinese_number(run: str) -> int | None:
    """Return the value of a Chinese numeral such as 十二万五千 or 二〇二六, or None.

    Digit-only runs of two or more characters are read digit by digit (二〇二六 = 2026);
    otherwise the usual 十/百/千 within 万/亿 sections, with a trailing digit after a
    multiplier abbreviated (一万二 = 12000, 三千五 = 3500). Malformed runs (万一, 千万 as
    "by all means") give None so the text is left as written.
    """
    if all(ch in _CN_DIGITS for ch in run):
        if len(run) == 1:
            return _CN_DIGITS[run]
        return int("".join(str(_CN_DIGITS[ch]) for ch in run))
    total = 0
    section = 0
    number: int | None = None
    last_small = 10_000
    previous_multiplier = 0
    zero_seen = False
    for index, ch in enumerate(run):
        if ch in ("零", "〇"):
            zero_seen = True
            previous_multiplier = 0
            continue
        if ch in _CN_DIGITS:
            if number is not None:
                return None
            number = _CN_DIGITS[ch]
            continue
        if ch in _CN_SMALL:
            unit = _CN_SMALL[ch]
            if number is None and not (ch == "十" and (index == 0 or zero_seen)):
                return None
            if unit >= last_small:
                return None
            section += (1 if number is None else number) * unit
            number = None
            last_small = unit
            previous_multiplier = unit
            zero_seen = False
            continue
        big = _CN_BIG[ch]
        if section == 0 and number is None:
            return None
        section += number or 0
        total = (total + section) * big if big > 10_000 else total + section * big
        section = 0
        number = None
        last_small = 10_000
        previous_multiplier = big
        zero_seen = False
    tail = 0
    if number is not None:
        abbreviated = previous_multiplier >= 100 and not zero_seen
        tail = number * (previous_multiplier // 10 if abbreviated else 1)
    return total + section + tail


def _numerals_to_digits(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        run = match.group(0)
        start = match.start()
        if run == "一" and not _BEFORE_UNIT.match(text, match.end()):
            return run
        if run == "一" and start > 0 and text[start - 1] in "第每":
            return run
        value = parse_chinese_number(run)
        return run if value is None else str(value)

    return _CN_RUN.sub(replace, text)


_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_SPACES = re.compile(r"\s+")
_WORD_CHAR = re.compile(r"[0-9a-z]")


def _fold_spaces(text: str) -> str:
    """Drop spaces, but keep one between two figures or words, so "3 5" never becomes 35."""

    def replace(match: re.Match[str]) -> str:
        start, end = match.start(), match.end()
        between_words = (
            start > 0
            and end < len(text)
            and _WORD_CHAR.match(text[start - 1]) is not None
            and _WORD_CHAR.match(text[end]) is not None
        )
        return " " if between_words else ""

    return _SPACES.sub(replace, text)


def normalize(text: str) -> str:
    """Return `text` folded for comparison: half-width, simplified, no spaces, digits."""
    folded = unicodedata.normalize("NFKC", text)
    folded = to_simplified(folded).lower()
    folded = _fold_spaces(_numerals_to_digits(folded))
    return _THOUSANDS.sub("", folded)


_PUNCTUATION = re.compile(r"[^\w%¥.]|(?<!\d)\.|\.(?!\d)")


def _text_key(text: str) -> str:
    """Normalise and drop punctuation (keeping decimal points), for substring matching."""
    return _PUNCTUATION.sub("", normalize(text))


# --- quantities -------------------------------------------------------------------------


@dataclass(frozen=True)
class Quantity:
    """A figure stated in a text: what it measures, its unit and its canonical value."""

    quantity: str
    unit: str
    value: str

    def shown(self) -> str:
        """Return the figure as a person would read it: 3批次, 125000元, 2026-03-05."""
        return self.value if self.quantity == DATE else f"{self.value}{self.unit}"

    def same_as(self, other: "Quantity") -> bool:
        """Return whether both state the same figure; a year-less date matches any year."""
        if (self.quantity, self.unit) != (other.quantity, other.unit):
            return False
        if self.quantity != DATE:
            return self.value == other.value
        return self.value == other.value or (
            self.value[-5:] == other.value[-5:]
            and (self.value.startswith("--") or other.value.startswith("--"))
        )


_NUMBER = r"\d+(?:\.\d+)?"
_MULTIPLIERS = {"千": Decimal(1000), "万": Decimal(10_000), "亿": Decimal(100_000_000)}
_DATE_FULL = re.compile(r"(?<!\d)(\d{4})年(\d{1,2})月(\d{1,2})[日号]")
_DATE_ISO = re.compile(r"(?<![\d.])(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?![\d.])")
_DATE_SHORT = re.compile(r"(?<!\d)(\d{1,2})月(\d{1,2})[日号]")
_AMOUNT_PREFIX = re.compile(rf"(?:¥|rmb|人民币) ?({_NUMBER})([千万亿])?元?")
_AMOUNT_SUFFIX = re.compile(rf"(?<![\d.])({_NUMBER})([千万亿])?(?:元|块钱|块)")
_PERCENT_WORDS = re.compile(rf"百分之({_NUMBER})")
_COUNT = re.compile(rf"(?<![\d.])({_NUMBER})([千万亿])?个?({_UNIT_ALTERNATION})")


def _decimal_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _scaled(number: str, multiplier: str | None) -> str | None:
    try:
        value = Decimal(number)
    except InvalidOperation:
        return None
    if multiplier:
        value *= _MULTIPLIERS[multiplier]
    return _decimal_text(value)


def _date(year: str | None, month: str, day: str) -> str | None:
    m, d = int(month), int(day)
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return None
    return f"{year or '-'}-{m:02d}-{d:02d}"


def extract_quantities(text: str) -> list[Quantity]:
    """Return the dates, amounts and counts `text` states, in order of position."""
    work = normalize(text)
    found: list[tuple[int, Quantity]] = []

    def take(pattern: re.Pattern[str], build: Any) -> None:
        nonlocal work
        for match in list(pattern.finditer(work)):
            quantity = build(match)
            if quantity is not None:
                found.append((match.start(), quantity))
            # Mask the span so a date's digits are not read again as a count or amount.
            work = (
                work[: match.start()] + "\0" * (match.end() - match.start()) + work[match.end() :]
            )

    def full_date(match: re.Match[str]) -> Quantity | None:
        value = _date(match.group(1), match.group(2), match.group(3))
        return None if value is None else Quantity(DATE, DATE_UNIT, value)

    def short_date(match: re.Match[str]) -> Quantity | None:
        value = _date(None, match.group(1), match.group(2))
        return None if value is None else Quantity(DATE, DATE_UNIT, value)

    def amount(match: re.Match[str]) -> Quantity | None:
        value = _scaled(match.group(1), match.group(2))
        return None if value is None else Quantity(AMOUNT, YUAN, value)

    def percent(match: re.Match[str]) -> Quantity | None:
        value = _scaled(match.group(1), None)
        return None if value is None else Quantity(COUNT, "%", value)

    def count(match: re.Match[str]) -> Quantity | None:
        if match.start() > 0 and work[match.start() - 1] == "第":
            return None
        value = _scaled(match.group(1), match.group(2))
        return None if value is None else Quantity(COUNT, _COUNT_UNITS[match.group(3)], value)

    take(_DATE_FULL, full_date)
    take(_DATE_ISO, full_date)
    take(_DATE_SHORT, short_date)
    take(_AMOUNT_PREFIX, amount)
    take(_AMOUNT_SUFFIX, amount)
    take(_PERCENT_WORDS, percent)
    take(_COUNT, count)
    return [quantity for _, quantity in sorted(found, key=lambda item: item[0])]


# --- flags ------------------------------------------------------------------------------


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
    value_key = _text_key(fact.value)
    if value_key and value_key in body_key:
        return True
    wanted = extract_quantities(fact.value)
    return bool(wanted) and all(any(w.same_as(s) for s in stated) for w in wanted)


def missing_facts(
    statement: StatementText, facts: Sequence[Fact], stated: Sequence[Quantity]
) -> list[dict[str, Any]]:
    """Return a flag for each key fact `statement` does not carry."""
    body_key = _text_key(statement.body)
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


# --- the database side ------------------------------------------------------------------


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
    statements = list(
        (
            await session.exec(
                select(Statement)
                .where(Statement.incident_id == incident_id)
                .order_by(col(Statement.created_at), col(Statement.id))
            )
        ).all()
    )
    facts = [
        Fact(label=f.label, value=f.value)
        for f in (
            await session.exec(
                select(KeyFact)
                .where(KeyFact.incident_id == incident_id)
                .order_by(col(KeyFact.created_at), col(KeyFact.label))
            )
        ).all()
    ]
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
