"""The parsed form of a watch rule: a small boolean tree over terms and source filters.

Nodes compare by meaning only: the spans they came from (kept for error messages) are left
out of equality, so `parse(rule.to_query()) == rule` holds for every rule.
"""

import re
from collections.abc import Iterator, Set
from dataclasses import dataclass, field
from functools import cached_property

from libs.contracts.enums import Source

# Characters that end a bare word: whitespace is handled separately. Full-width forms are
# what a Chinese input method types by default, so they are operators as well.
OPERATOR_CHARACTERS = '&|!()"＆｜！（）“”'
BARE_WORD = re.compile(r"[^\s" + re.escape(OPERATOR_CHARACTERS) + r"]+")
KEYWORDS = frozenset({"AND", "OR", "NOT"})
SOURCE_PREFIX = "source:"
SOURCE_ORDER = {source.value: rank for rank, source in enumerate(Source)}


@dataclass(frozen=True)
class Term:
    """A word or phrase, in analysis form (see `termform`)."""

    text: str
    start: int = field(default=0, compare=False, repr=False)
    end: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Sources:
    """True when the post comes from one of `names` (values of `Source`)."""

    names: frozenset[str]
    start: int = field(default=0, compare=False, repr=False)
    end: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Not:
    operand: "Expr"
    start: int = field(default=0, compare=False, repr=False)
    end: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class And:
    operands: tuple["Expr", ...]
    start: int = field(default=0, compare=False, repr=False)
    end: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Or:
    operands: tuple["Expr", ...]
    start: int = field(default=0, compare=False, repr=False)
    end: int = field(default=0, compare=False, repr=False)


Expr = Term | Sources | Not | And | Or


def walk(expr: Expr) -> Iterator[Expr]:
    """Yield every node, parents before children, left to right."""
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Not):
            stack.append(node.operand)
        elif isinstance(node, And | Or):
            stack.extend(reversed(node.operands))


def evaluate(expr: Expr, hits: Set[str], source: str) -> bool:
    """Return whether `expr` holds for a post from `source` whose text contains `hits`."""
    match expr:
        case Term(text=text):
            return text in hits
        case Sources(names=names):
            return source in names
        case Not(operand=operand):
            return not evaluate(operand, hits, source)
        case And(operands=operands):
            return all(evaluate(operand, hits, source) for operand in operands)
        case Or(operands=operands):
            return any(evaluate(operand, hits, source) for operand in operands)


def quote_term(text: str) -> str:
    """Return `text` as a query term: bare when it would read back as the same word."""
    bare = (
        BARE_WORD.fullmatch(text) is not None
        and text not in KEYWORDS
        and not text.lower().startswith(SOURCE_PREFIX)
    )
    if bare:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_query(expr: Expr) -> str:
    """Return the canonical query for `expr`: ASCII operators, folded terms, minimal quoting.

    An AND inside an OR is parenthesised although precedence makes it unnecessary: people
    read `(a & b) | c` correctly more often than `a & b | c`.
    """
    match expr:
        case Term(text=text):
            return quote_term(text)
        case Sources(names=names):
            ordered = sorted(names, key=SOURCE_ORDER.__getitem__)
            if len(ordered) == 1:
                return SOURCE_PREFIX + ordered[0]
            return SOURCE_PREFIX + "(" + " | ".join(ordered) + ")"
        case Not(operand=operand):
            inner = to_query(operand)
            return "!" + (f"({inner})" if isinstance(operand, And | Or) else inner)
        case And(operands=operands):
            return " & ".join(
                f"({to_query(operand)})" if isinstance(operand, Or) else to_query(operand)
                for operand in operands
            )
        case Or(operands=operands):
            return " | ".join(
                f"({to_query(operand)})" if isinstance(operand, And) else to_query(operand)
                for operand in operands
            )


@dataclass(frozen=True)
class Rule:
    """A validated watch rule: at least one of its terms must occur for it to match."""

    expr: Expr

    @cached_property
    def terms(self) -> frozenset[str]:
        """Every term the rule mentions, negated ones included (all must be searched for)."""
        return frozenset(node.text for node in walk(self.expr) if isinstance(node, Term))

    @cached_property
    def positive_terms(self) -> frozenset[str]:
        """Terms that appear outside any negation (or under an even number of them).

        A match always contains one of these: the rule can only grow truer as they appear
        and falser as the others do, and it is false when no term occurs. So they are the
        evidence a match reports, and a sound key for finding candidate rules.
        """
        found: set[str] = set()
        stack: list[tuple[Expr, bool]] = [(self.expr, True)]
        while stack:
            node, positive = stack.pop()
            if isinstance(node, Term):
                if positive:
                    found.add(node.text)
            elif isinstance(node, Not):
                stack.append((node.operand, not positive))
            elif isinstance(node, And | Or):
                stack.extend((operand, positive) for operand in node.operands)
        return frozenset(found)

    def evaluate(self, hits: Set[str], source: str) -> bool:
        """Return whether the rule holds for a post from `source` containing `hits`."""
        return evaluate(self.expr, hits, source)

    def to_query(self) -> str:
        """Return the canonical query; parsing it gives back an equal rule."""
        return to_query(self.expr)
