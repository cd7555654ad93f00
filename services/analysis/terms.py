"""One Aho-Corasick automaton for every term an organization cares about.

Watch-rule terms, sensitive terms, crisis-type cues and dictionary words all go into the
same automaton, so a post is scanned once however many rules and lexicons there are:
the cost per post grows with the length of the text and the number of hits, not with
the number of terms. Each consumer then reads the set of terms that occurred.

Terms and texts are compared case-folded; callers pass the analysis form of the text
(simplified Chinese, NFKC), so traditional and full-width spellings match too.
"""

from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick


def fold(term: str) -> str:
    """Return the form terms and texts are compared in."""
    return term.strip().lower()


@dataclass(frozen=True)
class Span:
    """Where a term occurs in the folded text: `text[start:end] == term`."""

    start: int
    end: int
    term: str


class TermIndex:
    """An automaton over folded terms; immutable once built."""

    def __init__(self, terms: Iterable[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        self.terms: frozenset[str] = frozenset(t for t in (fold(raw) for raw in terms) if t)
        for term in self.terms:
            self._automaton.add_word(term, term)
        self._empty = not self.terms
        if not self._empty:
            self._automaton.make_automaton()

    def __len__(self) -> int:
        return len(self.terms)

    def hits(self, folded_text: str) -> set[str]:
        """Return every term that occurs in `folded_text`, overlapping ones included."""
        if self._empty:
            return set()
        return {term for _, term in self._automaton.iter(folded_text)}

    def longest_spans(self, folded_text: str) -> list[Span]:
        """Return the leftmost-longest non-overlapping occurrences, in text order.

        Segmentation keeps these spans whole, so "禾岚乳业" stays one token even where
        "禾岚" is also a term.
        """
        if self._empty:
            return []
        return [
            Span(start=end - len(term) + 1, end=end + 1, term=term)
            for end, term in self._automaton.iter_long(folded_text)
        ]
