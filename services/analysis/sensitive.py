"""The sensitive-term lexicon (敏感词库): which words make a post risky, and by how much.

Every term carries a category (safety, injury/death, data leak, regulator, rights, legal)
and a weight in (0, 1]: roughly the probability that a post using the term is about a
real incident of that kind. Independent hits combine by noisy-or, so two weak terms rise
above either alone but never past 1, and one 死亡 decides the score by itself.

The lexicon never scans text: it publishes its terms for the organization's shared
`TermIndex` and judges the set of terms that occurred. Without spans, ambiguity is
settled at the term-set level by shadowing: a term does not count when a longer phrase of
this lexicon that contains it also occurred. The longer phrase is either

- an exclusion, a harmless phrase that cancels the terms inside it (笑死了 cancels 死了,
  异物感 cancels 异物), or
- a longer term, which speaks for the shorter one (食物中毒 stands for 中毒, so one phrase
  is not counted twice).

The price of working on sets: a post that contains both 笑死了 and, elsewhere, a real
死了 loses that 死了. Terms nobody laughs about (死亡, 身亡, 出人命) are never inside an
exclusion, so the loss is limited to short, ambiguous terms. Other consumers' terms never
shadow ours: a watch rule on 禾岚奶粉异物 must not hide 异物.

An organization changes the default lexicon with overrides: add a term, change its
category or weight, or disable it with weight 0. Terms are stored the way texts are
matched (NFKC, simplified Chinese, case-folded), so an override typed in traditional
characters or full-width digits still matches.
"""

import csv
import math
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib.resources import files
from typing import TypeVar

from libs.contracts.enums import SensitiveCategory
from libs.text import to_simplified
from services.analysis.terms import TermIndex, fold

MAX_TERM_LENGTH = 50
TERMS_FILE = "sensitive_terms.tsv"
EXCLUSIONS_FILE = "exclusions.tsv"
WEIGHTED_HEADER = ("term", "category", "weight")
EXCLUSIONS_HEADER = ("phrase", "reason")

E = TypeVar("E", bound=StrEnum)


class LexiconError(ValueError):
    """A term, category or weight that cannot go into a lexicon; `field` names which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SensitiveHit:
    """A lexicon term, as it occurred in a post or as the lexicon defines it."""

    term: str
    category: SensitiveCategory
    weight: float


@dataclass(frozen=True)
class SensitiveResult:
    """How sensitive a post is: its counted hits, overall and per category."""

    hits: tuple[SensitiveHit, ...]
    score: float
    categories: dict[SensitiveCategory, float]


class TermOverride(SensitiveHit):
    """An organization's change to the default lexicon; weight 0 disables a term.

    It names a lexicon term just as the lexicon defines one, so it has the same fields.
    """


def normalize_term(term: str) -> str:
    """Return `term` in the form texts are matched in (NFKC, simplified, folded)."""
    spaced = " ".join(unicodedata.normalize("NFKC", term).split())
    return fold(to_simplified(spaced))


def validate_term(term: object) -> str:
    """Return the normalized term, or raise `LexiconError` on field "term"."""
    if not isinstance(term, str):
        raise LexiconError("term", f"term must be text, not {type(term).__name__}")
    normalized = normalize_term(term)
    if not normalized:
        raise LexiconError("term", "term must not be blank")
    if len(normalized) > MAX_TERM_LENGTH:
        raise LexiconError(
            "term",
            f"term is {len(normalized)} characters long; at most {MAX_TERM_LENGTH} are allowed",
        )
    if any(unicodedata.category(char) == "Cc" for char in normalized):
        raise LexiconError("term", "term must not contain control characters")
    return normalized


def validate_weight(weight: object) -> float:
    """Return the weight as a float, or raise `LexiconError` on field "weight"."""
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        raise LexiconError("weight", f"weight must be a number, not {type(weight).__name__}")
    value = float(weight)
    if math.isnan(value):
        raise LexiconError("weight", "weight must be a number between 0 and 1, not NaN")
    if not 0.0 <= value <= 1.0:
        raise LexiconError("weight", f"weight must be between 0 and 1, got {value}")
    return value


def validate_category(category: object, kind: type[E]) -> E:
    """Return the member of `kind` named by `category`, or raise on field "category"."""
    valid = ", ".join(member.value for member in kind)
    if not isinstance(category, str):
        raise LexiconError("category", f"category must be one of: {valid}")
    try:
        return kind(category.strip().lower())
    except ValueError:
        raise LexiconError(
            "category", f"unknown category {category!r}; valid categories: {valid}"
        ) from None


def validate_override(term: str, category: str, weight: float) -> TermOverride:
    """Check an organization's term change and return it in stored form."""
    return TermOverride(
        term=validate_term(term),
        category=validate_category(category, SensitiveCategory),
        weight=validate_weight(weight),
    )


def noisy_or(weights: Iterable[float]) -> float:
    """Combine independent pieces of evidence: 1 - Π(1 - w), in [0, 1]."""
    return min(1.0, max(0.0, 1.0 - math.prod(1.0 - w for w in weights)))


def read_data_rows(name: str, header: tuple[str, ...]) -> list[tuple[int, list[str]]]:
    """Return the (line number, fields) rows of a TSV file in the data folder.

    The files are plain TSV with a header so they open in any spreadsheet; the line number
    goes into error messages, so a bad row in a shipped file is found at once.
    """
    text = files("services.analysis").joinpath("data", name).read_text(encoding="utf-8")
    rows = list(csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows or tuple(rows[0]) != header:
        raise LexiconError("file", f"{name}: the first line must be {'<TAB>'.join(header)}")
    numbered = [(number, row) for number, row in enumerate(rows[1:], start=2) if any(row)]
    for number, row in numbered:
        if len(row) != len(header):
            raise LexiconError(
                "file", f"{name} line {number}: expected {len(header)} fields, got {len(row)}"
            )
    return numbered


def read_weighted_rows(name: str, kind: type[E]) -> list[tuple[str, E, float]]:
    """Return the validated (term, category, weight) rows of a data file.

    Shipped rows must have a positive weight (a zero row would be dead data) and appear
    once per term and category.
    """
    seen: set[tuple[str, E]] = set()
    result: list[tuple[str, E, float]] = []
    for number, (raw_term, raw_category, raw_weight) in read_data_rows(name, WEIGHTED_HEADER):
        try:
            term = validate_term(raw_term)
            category = validate_category(raw_category, kind)
            try:
                weight = validate_weight(float(raw_weight))
            except ValueError:
                raise LexiconError("weight", f"weight {raw_weight!r} is not a number") from None
            if weight == 0.0:
                raise LexiconError("weight", "a shipped term needs a weight above 0")
            if (term, category) in seen:
                raise LexiconError("term", f"{term!r} appears twice for {category.value}")
        except LexiconError as error:
            raise LexiconError(error.field, f"{name} line {number}: {error}") from None
        seen.add((term, category))
        result.append((term, category, weight))
    return result


def read_exclusions(name: str = EXCLUSIONS_FILE) -> list[str]:
    """Return the validated exclusion phrases of a data file."""
    phrases: list[str] = []
    for number, (raw_phrase, _reason) in read_data_rows(name, EXCLUSIONS_HEADER):
        try:
            phrases.append(validate_term(raw_phrase))
        except LexiconError as error:
            raise LexiconError(error.field, f"{name} line {number}: {error}") from None
    return phrases


class Shadows:
    """For each weighted term, the longer phrases whose occurrence takes its place.

    Built once per lexicon with the shared `TermIndex`: each term and exclusion phrase is
    searched for the terms inside it, so building costs the total length of the phrases,
    not the square of their number.
    """

    def __init__(self, terms: Iterable[str], exclusions: Iterable[str]) -> None:
        own = frozenset(terms)
        # A phrase that is also a term counts as a term: the organization's own word wins.
        self.exclusions: frozenset[str] = frozenset(exclusions) - own
        index = TermIndex(own)
        shadows: dict[str, set[str]] = {}
        for phrase in own | self.exclusions:
            for inner in index.hits(phrase):
                if inner != phrase:
                    shadows.setdefault(inner, set()).add(phrase)
        self._by_term = {term: frozenset(phrases) for term, phrases in shadows.items()}

    def counted(self, present: Iterable[str], hits: set[str]) -> list[str]:
        """Return the present terms that no occurring longer phrase shadows."""
        return [term for term in present if not self._by_term.get(term, frozenset()) & hits]


def _hit_order(hit: SensitiveHit) -> tuple[float, str]:
    return (-hit.weight, hit.term)


class SensitiveLexicon:
    """An organization's effective lexicon; immutable, so one instance serves every post."""

    def __init__(self, entries: Iterable[SensitiveHit], exclusions: Iterable[str] = ()) -> None:
        """Apply `entries` in order: a later entry replaces an earlier one, weight 0 removes it."""
        effective: dict[str, SensitiveHit] = {}
        for entry in entries:
            checked = validate_override(entry.term, entry.category, entry.weight)
            if checked.weight == 0.0:
                effective.pop(checked.term, None)
            else:
                effective[checked.term] = SensitiveHit(
                    checked.term, checked.category, checked.weight
                )
        self._entries = effective
        self._shadows = Shadows(effective, (validate_term(p) for p in exclusions))

    @classmethod
    def default(cls) -> "SensitiveLexicon":
        """Return the shipped lexicon (`data/sensitive_terms.tsv`), loaded once per process."""
        return _default_lexicon()

    def with_overrides(self, overrides: Iterable[TermOverride]) -> "SensitiveLexicon":
        """Return this lexicon with an organization's overrides applied in order."""
        changes = [SensitiveHit(o.term, o.category, o.weight) for o in overrides]
        return SensitiveLexicon([*self._entries.values(), *changes], self._shadows.exclusions)

    def terms(self) -> frozenset[str]:
        """Return every phrase the shared `TermIndex` must find: terms and exclusions."""
        return frozenset(self._entries) | self._shadows.exclusions

    def exclusions(self) -> frozenset[str]:
        """Return the harmless phrases that cancel the terms they contain."""
        return self._shadows.exclusions

    def entries(self) -> list[SensitiveHit]:
        """Return the effective lexicon, heaviest first, then by term."""
        return sorted(self._entries.values(), key=_hit_order)

    def assess(self, hits: set[str]) -> SensitiveResult:
        """Score a post from the set of terms its text contained (any consumer's)."""
        present = hits & self._entries.keys()
        found = sorted(
            (self._entries[term] for term in self._shadows.counted(present, hits)),
            key=_hit_order,
        )
        by_category: dict[SensitiveCategory, list[float]] = {}
        for hit in found:
            by_category.setdefault(hit.category, []).append(hit.weight)
        return SensitiveResult(
            hits=tuple(found),
            score=noisy_or(hit.weight for hit in found),
            categories={
                category: noisy_or(by_category[category])
                for category in SensitiveCategory
                if category in by_category
            },
        )


@cache
def _default_lexicon() -> SensitiveLexicon:
    rows = read_weighted_rows(TERMS_FILE, SensitiveCategory)
    counts = Counter(term for term, _, _ in rows)
    duplicates = sorted(term for term, count in counts.items() if count > 1)
    if duplicates:
        raise LexiconError("term", f"{TERMS_FILE}: terms with two categories: {duplicates}")
    return SensitiveLexicon(
        (SensitiveHit(term, category, weight) for term, category, weight in rows),
        read_exclusions(),
    )
