"""Every watch rule of an organization, ready to be evaluated against a post's term hits.

Text is scanned once, by the organization's shared `TermIndex`; this module only turns the
set of terms that occurred into rule matches. Each rule is filed under a few of its terms
(its anchor), and a post only evaluates the rules filed under a term it contains, so the
cost per post follows the rules that could match it, not how many rules exist.
"""

import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass

from services.analysis.rules.syntax import And, Expr, Not, Or, Rule, Sources, Term

Test = Callable[[Set[str], str], bool]


@dataclass(frozen=True)
class RuleMatch:
    """A rule that matched a post, with its evidence."""

    rule_id: uuid.UUID
    terms: tuple[str, ...]
    """The rule's non-negated terms that occurred in the post, sorted; never empty."""


class _TestSource:
    """Python source for one rule's test, with the values it refers to bound by name.

    Only generated names (`_0`, `_1`, ...) and operators appear in the source; terms and
    source sets are bound as values, so nothing a user typed is ever compiled as code.
    """

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def name(self, value: object) -> str:
        name = f"_{len(self.values)}"
        self.values[name] = value
        return name

    def expression(self, expr: Expr) -> str:
        """Return a boolean expression over `h` (the hits) and `s` (the source)."""
        if isinstance(expr, Term):
            return f"{self.name(expr.text)} in h"
        if isinstance(expr, Sources):
            return f"s in {self.name(expr.names)}"
        if isinstance(expr, Not):
            if isinstance(expr.operand, Term):
                return f"{self.name(expr.operand.text)} not in h"
            return f"not ({self.expression(expr.operand)})"
        terms = frozenset(o.text for o in expr.operands if isinstance(o, Term))
        sources = [o.names for o in expr.operands if isinstance(o, Sources)]
        parts: list[str] = []
        if isinstance(expr, And):
            # Cheapest checks first: the source, then all plain terms as one set operation.
            absent = frozenset(
                o.operand.text
                for o in expr.operands
                if isinstance(o, Not) and isinstance(o.operand, Term)
            )
            if sources:
                parts.append(f"s in {self.name(frozenset.intersection(*sources))}")
            if terms:
                parts.append(self.terms_test(terms, every=True))
            if absent:
                parts.append(f"{self.name(absent)}.isdisjoint(h)")
            parts.extend(
                f"({self.expression(o)})"
                for o in expr.operands
                if not isinstance(o, Term | Sources)
                and not (isinstance(o, Not) and isinstance(o.operand, Term))
            )
            return " and ".join(parts)
        if terms:
            parts.append(self.terms_test(terms, every=False))
        if sources:
            parts.append(f"s in {self.name(frozenset().union(*sources))}")
        parts.extend(
            f"({self.expression(o)})" for o in expr.operands if not isinstance(o, Term | Sources)
        )
        return " or ".join(parts)

    def terms_test(self, terms: frozenset[str], *, every: bool) -> str:
        """Return a test that `h` holds every one of `terms` (`every`) or any one of them.

        All plain terms of an `and` or an `or` become one set operation; a single term is
        a plain membership test, which is cheaper than building the set check.
        """
        if len(terms) == 1:
            return f"{self.name(next(iter(terms)))} in h"
        if every:
            return f"{self.name(terms)}.issubset(h)"
        return f"not {self.name(terms)}.isdisjoint(h)"


def _compile(expr: Expr) -> Test:
    """Compile a rule into one Python function: several times faster than walking the tree.

    Nesting is bounded by validation, so the generated expression stays small.
    """
    source = _TestSource()
    code = compile("lambda h, s: " + source.expression(expr), "<watch rule>", "eval")
    test: Test = eval(code, {"__builtins__": {}, **source.values})
    return test


def _anchor(expr: Expr, weight: Mapping[str, int]) -> frozenset[str] | None:
    """Return terms one of which occurs whenever `expr` holds, or None if none is known.

    An AND needs only one operand's anchor: the one whose terms the fewest rules share,
    since a term many rules use (召回, 投诉) is also one many posts contain.
    """
    if isinstance(expr, Term):
        return frozenset({expr.text})
    if isinstance(expr, Sources | Not):
        return None
    anchors = [_anchor(operand, weight) for operand in expr.operands]
    if isinstance(expr, Or):
        if any(anchor is None for anchor in anchors):
            return None
        return frozenset().union(*(a for a in anchors if a is not None))
    known = [anchor for anchor in anchors if anchor is not None]
    if not known:
        return None
    return min(known, key=lambda anchor: (sum(weight[t] for t in anchor), len(anchor)))


class CompiledRules:
    """An organization's rules, indexed by anchor term; immutable once built."""

    def __init__(self, rules: Iterable[tuple[uuid.UUID, Rule]]) -> None:
        pairs = list(rules)
        ids = [rule_id for rule_id, _ in pairs]
        if len(set(ids)) != len(ids):
            raise ValueError("rule ids must be unique")
        self._ids = ids
        self._evidence = [rule.positive_terms for _, rule in pairs]
        self._tests = [_compile(rule.expr) for _, rule in pairs]
        self._terms = frozenset().union(*(rule.terms for _, rule in pairs))
        weight = Counter(term for terms in self._evidence for term in terms)
        index: dict[str, list[int]] = {}
        for number, (_, rule) in enumerate(pairs):
            # Validation guarantees a match contains a positive term, so they are a
            # sound fallback when the tree gives no tighter anchor (e.g. `!(!a & !b)`).
            anchor = _anchor(rule.expr, weight) or rule.positive_terms
            for term in anchor:
                index.setdefault(term, []).append(number)
        self._index = {term: tuple(numbers) for term, numbers in index.items()}

    def __len__(self) -> int:
        return len(self._ids)

    def terms(self) -> frozenset[str]:
        """Every term in analysis form, negated ones included, for the shared `TermIndex`."""
        return self._terms

    def candidates(self, hits: Set[str]) -> list[int]:
        """Return the positions of the rules worth evaluating for `hits`, in rule order."""
        found: set[int] = set()
        for term in hits:
            numbers = self._index.get(term)
            if numbers is not None:
                found.update(numbers)
        return sorted(found)

    def match(self, hits: Set[str], source: str) -> list[RuleMatch]:
        """Return the rules that hold for a post from `source` whose text contains `hits`.

        `hits` are terms in analysis form, as `TermIndex.hits` returns them. Matches come
        in the order the rules were given.
        """
        matches: list[RuleMatch] = []
        for number in self.candidates(hits):
            if self._tests[number](hits, source):
                evidence = tuple(sorted(self._evidence[number].intersection(hits)))
                matches.append(RuleMatch(self._ids[number], evidence))
        return matches
