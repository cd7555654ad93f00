"""The query language of watch rules, parsed with lark into `syntax` trees.

    query     := or
    or        := and (("|" | "OR") and)*
    and       := not (("&" | "AND")? not)*        whitespace alone also means AND
    not       := ("!" | "NOT") not | atom
    atom      := WORD | PHRASE | "(" or ")" | "source:" NAME | "source:(" NAME ("|" NAME)* ")"

Checks that need the whole query (parentheses, nesting, term count, whether the rule needs
a term at all) run around the parse so every problem is reported once, in plain words,
with the column where it starts.
"""

from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from typing import cast

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedToken

from libs.contracts.enums import Source
from services.analysis.rules.errors import RuleError
from services.analysis.rules.syntax import (
    BARE_WORD,
    SOURCE_ORDER,
    And,
    Expr,
    Not,
    Or,
    Rule,
    Sources,
    Term,
    evaluate,
    to_query,
    walk,
)
from services.analysis.rules.termform import analysis_form

MAX_TERM_LENGTH = 100
MAX_TERMS = 200
MAX_NESTING = 10

_GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr (_or and_expr)*
?and_expr: not_expr (_and? not_expr)*
?not_expr: _not not_expr -> negation
         | atom
?atom: WORD -> word
     | PHRASE -> phrase
     | LPAR or_expr RPAR -> group
     | SOURCE WORD -> source_one
     | SOURCE LPAR WORD (_or WORD)* RPAR -> source_many
_or: OR_KW | OR_SYM
_and: AND_KW | AND_SYM
_not: NOT_KW | NOT_SYM
OR_KW: "OR"
AND_KW: "AND"
NOT_KW: "NOT"
OR_SYM: /[|｜]/
AND_SYM: /[&＆]/
NOT_SYM: /[!！]/
LPAR: /[(（]/
RPAR: /[)）]/
SOURCE.2: /source:/i
PHRASE: /"(?:[^"\\]|\\.)*"/s | /“[^”]*”/
WORD: /BARE_WORD/
%ignore /\s+/
""".replace("BARE_WORD", BARE_WORD.pattern.replace("/", "\\/"))

_BINARY = frozenset({"AND_KW", "AND_SYM", "OR_KW", "OR_SYM"})
_NEGATION = frozenset({"NOT_KW", "NOT_SYM"})
_KNOWN_SOURCES = ", ".join(source.value for source in Source)


def _excerpt(text: str, limit: int = 30) -> str:
    """Return `text` short enough to quote in a message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _unescape(body: str) -> str:
    r"""Undo `\"` and `\\`; any other backslash is an ordinary character."""
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body) and body[index + 1] in '"\\':
            out.append(body[index + 1])
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _term(raw: str, token: Token, kind: str) -> Term:
    start, end = token.start_pos or 0, token.end_pos or 0
    text = analysis_form(raw)
    if not text:
        raise RuleError(
            f"empty {kind} {_excerpt(str(token))!r} at column {start}: "
            "a phrase needs at least one character other than spaces",
            start,
        )
    if max(len(raw), len(text)) > MAX_TERM_LENGTH:
        raise RuleError(
            f"term too long: {_excerpt(raw)!r} at column {start} has "
            f"{max(len(raw), len(text))} characters; at most {MAX_TERM_LENGTH} are allowed",
            start,
        )
    return Term(text, start, end)


def _combine(kind: type[And] | type[Or], children: Sequence[Expr | Token]) -> Expr:
    """Flatten nested groups of the same operator and drop repeated operands."""
    operands: dict[Expr, None] = {}
    for child in children:
        if isinstance(child, Token):
            continue
        if isinstance(child, kind):
            operands.update(dict.fromkeys(child.operands))
        else:
            operands[child] = None
    nodes = tuple(operands)
    starts = [c.start for c in children if not isinstance(c, Token)]
    ends = [c.end for c in children if not isinstance(c, Token)]
    if len(nodes) == 1:
        return nodes[0]
    return kind(nodes, min(starts), max(ends))


class _Build(Transformer[Token, Expr]):
    """Build the tree while the LALR parser reduces: no recursion, however long the query."""

    def word(self, children: list[Token]) -> Term:
        return _term(str(children[0]), children[0], "word")

    def phrase(self, children: list[Token]) -> Term:
        token = children[0]
        return _term(_unescape(str(token)[1:-1]), token, "phrase")

    def group(self, children: list[Token | Expr]) -> Expr:
        lpar, inner, rpar = children
        assert isinstance(lpar, Token) and isinstance(rpar, Token)
        assert not isinstance(inner, Token)
        return replace(inner, start=lpar.start_pos or 0, end=rpar.end_pos or 0)

    def negation(self, children: list[Token | Expr]) -> Expr:
        token, operand = children
        assert isinstance(token, Token) and not isinstance(operand, Token)
        if isinstance(operand, Not):
            return operand.operand
        return Not(operand, token.start_pos or 0, operand.end)

    def and_expr(self, children: list[Token | Expr]) -> Expr:
        return _combine(And, children)

    def or_expr(self, children: list[Token | Expr]) -> Expr:
        return _combine(Or, children)

    def source_one(self, children: list[Token]) -> Sources:
        return _sources(children)

    def source_many(self, children: list[Token]) -> Sources:
        return _sources(children)


def _sources(children: list[Token]) -> Sources:
    names: set[str] = set()
    for token in children:
        if token.type != "WORD":
            continue
        name = str(token).lower()
        if name not in SOURCE_ORDER:
            raise RuleError(
                f"unknown source {str(token)!r} at column {token.start_pos}; "
                f"known sources: {_KNOWN_SOURCES}",
                token.start_pos or 0,
            )
        names.add(name)
    return Sources(frozenset(names), children[0].start_pos or 0, children[-1].end_pos or 0)


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", lexer="basic", transformer=_Build())


@lru_cache(maxsize=1)
def _lexer() -> Lark:
    # A lexer-only instance keeps its scanner between calls; the query is lexed once and
    # the tokens are fed to the parser, so checks and parse see the same tokens.
    return Lark(_GRAMMAR, parser=None, lexer="basic")


def _tokens(query: str) -> list[Token]:
    """Lex the whole query first, so quoting and parentheses errors are named exactly."""
    try:
        return list(_lexer().lex(query))
    except UnexpectedCharacters as error:
        position = error.pos_in_stream or 0
        char = query[position]
        if char == "”":
            raise RuleError(
                f"unbalanced quotes: '”' at column {position} closes no phrase", position
            ) from None
        raise RuleError(
            f"unbalanced quotes: the phrase {_excerpt(query[position:])!r} "
            f"starting at column {position} is never closed",
            position,
        ) from None


def _build(query: str, tokens: list[Token]) -> Expr:
    interactive = _parser().parse_interactive()
    for token in tokens:
        interactive.feed_token(token)
    # Feeding the end token returns the result; the inline transformer turns every
    # reduction into a syntax node, so it is an Expr although lark cannot type it.
    return cast(Expr, interactive.feed_token(Token("$END", "", start_pos=len(query))))


def _check_parentheses(tokens: list[Token]) -> None:
    opened: list[Token] = []
    for token in tokens:
        if token.type == "LPAR":
            opened.append(token)
            if len(opened) > MAX_NESTING:
                raise RuleError(
                    f"nesting too deep: '(' at column {token.start_pos} opens level "
                    f"{len(opened)}; at most {MAX_NESTING} levels of parentheses are allowed",
                    token.start_pos or 0,
                )
        elif token.type == "RPAR":
            if not opened:
                raise RuleError(
                    f"unbalanced parentheses: ')' at column {token.start_pos} has no matching '('",
                    token.start_pos or 0,
                )
            opened.pop()
    if opened:
        raise RuleError(
            f"unbalanced parentheses: '(' at column {opened[-1].start_pos} is never closed",
            opened[-1].start_pos or 0,
        )


def _syntax_error(query: str, tokens: list[Token], error: UnexpectedToken) -> RuleError:
    """Explain the token the parser could not accept, from the tokens around it."""
    bad = error.token
    if bad.type == "$END":
        index = len(tokens)
    else:
        index = next(i for i, t in enumerate(tokens) if t.start_pos == bad.start_pos)
    current = tokens[index] if index < len(tokens) else None
    before = tokens[index - 1] if index > 0 else None
    source_start = _open_source_list(tokens[:index])

    if before is not None and before.type == "SOURCE":
        return RuleError(
            f"source filter 'source:' at column {before.start_pos} names no source; "
            "write e.g. source:weibo or source:(weibo | douyin)",
            before.start_pos or 0,
        )
    if source_start is not None:
        if current is not None and current.type == "RPAR" and before and before.type == "LPAR":
            return RuleError(
                f"source filter at column {source_start} names no source", source_start
            )
        where = f"at column {current.start_pos}" if current is not None else "at the end"
        found = repr(str(current)) if current is not None else "nothing"
        return RuleError(
            f"source filter at column {source_start} may only list source names separated "
            f"by '|' or OR; found {found} {where}",
            (current.start_pos or 0) if current is not None else source_start,
        )
    if before is not None and before.type in _BINARY | _NEGATION:
        if current is None or current.type == "RPAR":
            return RuleError(
                f"dangling operator: {str(before)!r} at column {before.start_pos} "
                "has nothing after it",
                before.start_pos or 0,
            )
        if current.type in _BINARY:
            return RuleError(
                f"dangling operator: {str(before)!r} at column {before.start_pos} is "
                f"followed by {str(current)!r} instead of a term",
                before.start_pos or 0,
            )
    if current is not None and current.type in _BINARY:
        return RuleError(
            f"dangling operator: {str(current)!r} at column {current.start_pos} "
            "has nothing before it",
            current.start_pos or 0,
        )
    if current is not None and current.type == "RPAR" and before and before.type == "LPAR":
        return RuleError(
            f"empty parentheses '()' at column {before.start_pos}", before.start_pos or 0
        )
    if current is None:
        return RuleError(f"query ends unexpectedly at column {len(query)}", len(query))
    position = current.start_pos or 0
    return RuleError(f"unexpected {str(current)!r} at column {position}", position)


def _open_source_list(tokens: list[Token]) -> int | None:
    """Return where an unclosed `source:(` starts among `tokens`, if one is open."""
    start: int | None = None
    for previous, token in zip([None, *tokens], tokens, strict=False):
        if token.type == "LPAR" and previous is not None and previous.type == "SOURCE":
            start = previous.start_pos
        elif token.type == "RPAR":
            start = None
    return start


def _check_terms(expr: Expr) -> None:
    terms = [node for node in walk(expr) if isinstance(node, Term)]
    if not terms:
        raise RuleError(
            "query has no terms: a rule needs at least one word or phrase to look for", 0
        )
    if len(terms) > MAX_TERMS:
        extra = terms[MAX_TERMS]
        raise RuleError(
            f"too many terms: the query has {len(terms)}, at most {MAX_TERMS} are allowed; "
            f"term {MAX_TERMS + 1} is {extra.text!r} at column {extra.start}",
            extra.start,
        )


def _check_needs_a_term(expr: Expr, query: str) -> None:
    """Reject a rule that holds for some post in which none of its terms occurs.

    With no term present the rule depends on the source alone, so trying every source is
    an exact test. It is what lets matching look only at rules one of whose terms occurred.
    """
    nothing: frozenset[str] = frozenset()
    for source in Source:
        if not evaluate(expr, nothing, source.value):
            continue
        culprit = expr
        while isinstance(culprit, Or):
            culprit = next(o for o in culprit.operands if evaluate(o, nothing, source.value))
        part = query[culprit.start : culprit.end] or to_query(culprit)
        anywhere = all(evaluate(culprit, nothing, other.value) for other in Source)
        post = "any post" if anywhere else f"a {source.value} post"
        raise RuleError(
            f"query matches posts that contain none of its terms: {_excerpt(part)!r} at "
            f"column {culprit.start} is true for {post} with no term in it; "
            "join it with '&' to a term that must occur",
            culprit.start,
        )


def parse(query: str) -> Rule:
    """Parse and validate a watch-rule query; raise `RuleError` saying what is wrong."""
    if not query.strip():
        raise RuleError("query is empty: write at least one word or phrase", 0)
    tokens = _tokens(query)
    _check_parentheses(tokens)
    try:
        expr = _build(query, tokens)
    except UnexpectedToken as error:
        raise _syntax_error(query, tokens, error) from None
    _check_terms(expr)
    _check_needs_a_term(expr, query)
    return Rule(expr)
