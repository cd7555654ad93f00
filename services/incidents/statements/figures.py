"""Figures a text states, read alike however they are written: dates, amounts and counts.

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
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from libs.text import to_simplified

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


def text_key(text: str) -> str:
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
