"""Watch rules: the query language, its validation errors, and matching against term hits."""

import pickle
import random
import uuid
from collections.abc import Set

import pytest

from libs.contracts.enums import Source
from services.analysis.rules import (
    MAX_NESTING,
    MAX_TERM_LENGTH,
    MAX_TERMS,
    CompiledRules,
    Rule,
    RuleError,
    keywords_query,
    parse,
)
from services.analysis.rules.syntax import And, Expr, Not, Or, Sources, Term, to_query
from services.analysis.rules.termform import analysis_form
from services.analysis.terms import TermIndex, fold

ISSUE_EXAMPLE = "(奶粉 | 米粉) & (致癌 | 召回) & !谣言"
SOURCES = [source.value for source in Source]


def t(text: str) -> Term:
    return Term(text)


def matched(query: str, text: str, source: str = "weibo") -> bool:
    """Match `query` against a post through the shared automaton, as the worker will."""
    rules = CompiledRules([(uuid.uuid4(), parse(query))])
    hits = TermIndex(rules.terms()).hits(fold(text))
    return bool(rules.match(hits, source))


# --- parsing and precedence ------------------------------------------------------------


def test_not_binds_tighter_than_and_which_binds_tighter_than_or() -> None:
    rule = parse("a | b & !c")
    assert rule.expr == Or((t("a"), And((t("b"), Not(t("c"))))))
    assert rule == parse("a | (b & (!c))")
    assert rule != parse("(a | b) & !c")


def test_word_operators_mean_the_same_as_symbols() -> None:
    assert parse("a OR b AND NOT c") == parse("a | b & !c")


def test_whitespace_between_operands_is_an_implicit_and_with_and_precedence() -> None:
    assert parse("奶粉 召回") == parse("奶粉 & 召回")
    assert parse("a b | c").expr == Or((And((t("a"), t("b"))), t("c")))
    assert parse("a NOT b") == parse("a & !b")
    assert parse("a (b | c)") == parse("a & (b | c)")


def test_operator_words_are_operators_only_in_capitals_and_only_as_whole_words() -> None:
    assert parse("a and b").expr == And((t("a"), t("and"), t("b")))
    assert parse("ANDROID | ORACLE | NOTION").terms == {"android", "oracle", "notion"}


def test_full_width_operators_typed_by_a_chinese_input_method_work() -> None:
    assert parse("（奶粉｜米粉）＆！谣言") == parse("(奶粉 | 米粉) & !谣言")
    assert parse("“维权 到底” & 禾岚") == parse('"维权 到底" & 禾岚')


def test_and_and_or_chains_are_flattened_and_repeats_dropped() -> None:
    assert parse("a & (b & c) & a").expr == And((t("a"), t("b"), t("c")))
    assert parse("a | a").expr == t("a")
    assert parse("!!a").expr == t("a")


def test_the_issue_example_parses_and_matches() -> None:
    rule = parse(ISSUE_EXAMPLE)
    assert rule.expr == And(
        (Or((t("奶粉"), t("米粉"))), Or((t("致癌"), t("召回"))), Not(t("谣言")))
    )
    assert rule.terms == {"奶粉", "米粉", "致癌", "召回", "谣言"}
    assert matched(ISSUE_EXAMPLE, "网传某品牌奶粉致癌，家长很担心")
    assert matched(ISSUE_EXAMPLE, "这批米粉被召回了")
    assert not matched(ISSUE_EXAMPLE, "奶粉致癌是谣言，官方已辟谣")
    assert not matched(ISSUE_EXAMPLE, "奶粉很好喝，宝宝爱喝")
    assert not matched(ISSUE_EXAMPLE, "有人说致癌但没说是什么")


# --- terms -----------------------------------------------------------------------------


def test_phrases_keep_spaces_and_operator_characters() -> None:
    rule = parse('"Apple Watch" & "3·15" & "a & (b) | !c"')
    assert rule.terms == {"apple watch", "3·15", "a & (b) | !c"}
    assert matched('"Apple Watch" & 召回', "apple watch 召回通知")
    assert not matched('"Apple Watch" & 召回', "apple 的 watch 召回通知")


def test_phrases_unescape_quotes_and_backslashes_and_keep_other_backslashes() -> None:
    assert parse(r'"say \"hi\""').terms == {'say "hi"'}
    assert parse(r'"a\\b"').terms == {"a\\b"}
    assert parse(r'"c:\dir"').terms == {"c:\\dir"}


def test_spaces_inside_a_phrase_collapse_like_the_post_text() -> None:
    assert parse('"Apple \t  Watch"').terms == {"apple watch"}


def test_bare_words_take_any_character_but_whitespace_and_operators() -> None:
    assert parse("3·15 & COVID-19 & 禾岚@官方 & a:b").terms == {
        "3·15",
        "covid-19",
        "禾岚@官方",
        "a:b",
    }


def test_traditional_terms_match_simplified_text() -> None:
    rule = parse("蘋果手錶 & 召回")
    assert rule.terms == {"苹果手表", "召回"}
    assert matched("蘋果手錶 & 召回", "苹果手表召回公告")


def test_terms_are_case_folded_and_full_width_letters_normalised() -> None:
    assert parse("FeiHe").terms == {"feihe"}
    assert parse("ＦＥＩＨＥ").terms == {"feihe"}
    assert matched("FeiHe", "FEIHE milk powder recall")
    assert not matched("FeiHe", "feih milk")


# --- source filters --------------------------------------------------------------------


def test_a_source_filter_restricts_the_rule_to_that_source() -> None:
    assert matched("奶粉 & source:weibo", "奶粉召回", "weibo")
    assert not matched("奶粉 & source:weibo", "奶粉召回", "douyin")


def test_a_source_list_accepts_any_of_its_sources_in_any_case() -> None:
    query = "奶粉 Source:(WEIBO | douyin OR zhihu)"
    assert parse(query).expr == And((t("奶粉"), Sources(frozenset({"weibo", "douyin", "zhihu"}))))
    for source in SOURCES:
        assert matched(query, "奶粉", source) == (source in {"weibo", "douyin", "zhihu"})


def test_a_negated_source_filter_excludes_that_source() -> None:
    for source in SOURCES:
        assert matched("奶粉 & !source:news", "奶粉", source) == (source != "news")


def test_a_quoted_source_prefix_is_an_ordinary_phrase() -> None:
    assert parse('"source:weibo"').terms == {"source:weibo"}


# --- validation errors -----------------------------------------------------------------

LONG = "长" * (MAX_TERM_LENGTH + 1)
MANY = " | ".join(f"词{i}" for i in range(MAX_TERMS + 1))
DEEP = "(" * (MAX_NESTING + 1) + "a" + ")" * (MAX_NESTING + 1)

# (query, the problem named, the part quoted, position)
ERRORS = [
    ("", "query is empty", "", 0),
    ("  \t ", "query is empty", "", 0),
    ("(奶粉 | 米粉", "unbalanced parentheses", "'('", 0),
    ("奶粉 | 米粉)", "unbalanced parentheses", "')'", 7),
    ("(a & (b | c)", "unbalanced parentheses", "'('", 0),
    ('"Apple Watch & 召回', "unbalanced quotes", "'\"Apple Watch & 召回'", 0),
    ('召回 & "a\\"', "unbalanced quotes", "'\"a\\\\\"'", 5),
    ("召回 ” 奶粉", "unbalanced quotes", "'”'", 3),
    ("奶粉 &", "dangling operator", "'&'", 3),
    ("| 奶粉", "dangling operator", "'|'", 0),
    ("奶粉 & | 召回", "dangling operator", "'&'", 3),
    ("奶粉 NOT", "dangling operator", "'NOT'", 3),
    ("奶粉 & (召回 |)", "dangling operator", "'|'", 9),
    ("OR", "dangling operator", "'OR'", 0),
    ("奶粉 ()", "empty parentheses", "'()'", 3),
    ("source:twitter & 奶粉", "unknown source", "'twitter'", 7),
    ("奶粉 source:", "names no source", "'source:'", 3),
    ("奶粉 & source:()", "names no source", "", 5),
    ("奶粉 & source:(weibo & douyin)", "may only list source names", "'&'", 19),
    ('奶粉 & ""', "empty phrase", "'\"\"'", 5),
    ('奶粉 & "   "', "empty phrase", "'\"   \"'", 5),
    (f"奶粉 & {LONG}", "term too long", "'长长长", 5),
    (MANY, "too many terms", f"'词{MAX_TERMS}'", MANY.index(f"词{MAX_TERMS}")),
    (DEEP, "nesting too deep", "'('", MAX_NESTING),
    ("!谣言", "contain none of its terms", "'!谣言'", 0),
    ("奶粉 | !谣言", "contain none of its terms", "'!谣言'", 5),
    ("奶粉 | source:weibo", "contain none of its terms", "'source:weibo'", 5),
    ("!(奶粉 & 召回)", "contain none of its terms", "'!(奶粉 & 召回)'", 0),
    ("source:weibo", "query has no terms", "", 0),
    ("source:weibo & !source:douyin", "query has no terms", "", 0),
]


@pytest.mark.parametrize(("query", "problem", "quoted", "position"), ERRORS)
def test_each_invalid_query_names_its_problem_and_where_it_is(
    query: str, problem: str, quoted: str, position: int
) -> None:
    with pytest.raises(RuleError) as raised:
        parse(query)
    error = raised.value
    assert problem in error.message
    assert quoted in error.message
    assert error.position == position
    assert error.field == "query"
    assert str(error) == error.message
    assert isinstance(error, ValueError)


def test_a_rule_true_only_for_one_source_without_terms_names_that_source() -> None:
    with pytest.raises(RuleError) as raised:
        parse("奶粉 | !source:douyin")
    assert "for a weibo post" in raised.value.message
    with pytest.raises(RuleError) as raised:
        parse("奶粉 | !谣言")
    assert "for any post" in raised.value.message


def test_limits_are_inclusive() -> None:
    assert parse("长" * MAX_TERM_LENGTH).terms == {"长" * MAX_TERM_LENGTH}
    assert len(parse(" | ".join(f"词{i}" for i in range(MAX_TERMS))).terms) == MAX_TERMS
    nested = parse("(" * MAX_NESTING + "a" + ")" * MAX_NESTING)
    assert nested.expr == t("a")


def test_negation_rules_the_anchor_check_accepts() -> None:
    # Each needs a term to occur although it contains a negation.
    for query in ("奶粉 & !谣言", "!(!奶粉 | 谣言)", "source:weibo & 奶粉 | 米粉 & !source:news"):
        rule = parse(query)
        for source in SOURCES:
            assert not rule.evaluate(set(), source)


def test_huge_inputs_fail_cleanly_instead_of_exhausting_the_stack() -> None:
    assert parse("!" * 6_000 + "a") == parse("a")
    with pytest.raises(RuleError) as raised:
        parse("(" * 6_000 + "a" + ")" * 6_000)
    assert "nesting too deep" in raised.value.message


def test_rule_errors_survive_pickling() -> None:
    with pytest.raises(RuleError) as raised:
        parse("奶粉 &")
    copy = pickle.loads(pickle.dumps(raised.value))
    assert (copy.message, copy.position, copy.field) == (
        raised.value.message,
        raised.value.position,
        raised.value.field,
    )


# --- canonical form --------------------------------------------------------------------

CANONICAL = [
    (ISSUE_EXAMPLE, ISSUE_EXAMPLE),
    ("a b | c", "(a & b) | c"),
    ("蘋果 NOT 謠言", "苹果 & !谣言"),
    ("a AND (b OR c)", "a & (b | c)"),
    ("奶粉 & !(谣言 | 辟谣)", "奶粉 & !(谣言 | 辟谣)"),
    ("奶粉 source:(douyin|weibo)", "奶粉 & source:(weibo | douyin)"),
    ('"Apple  Watch" & "AND" & "x"', '"apple watch" & and & x'),
    ('"say \\"hi\\"" | "a\\\\b" | "source:x"', '"say \\"hi\\"" | a\\b | "source:x"'),
    ('"维权(到底)"', '"维权(到底)"'),
]


@pytest.mark.parametrize(("query", "canonical"), CANONICAL)
def test_to_query_gives_the_canonical_form_which_parses_back_to_the_same_rule(
    query: str, canonical: str
) -> None:
    rule = parse(query)
    assert rule.to_query() == canonical
    assert parse(canonical) == rule


# --- randomized: canonical round trip and matching against brute force ------------------

# Already in analysis form, with words that need quoting or look like operators.
VOCABULARY = [
    analysis_form(word)
    for word in [
        "奶粉", "米粉", "致癌", "召回", "谣言", "禾岚", "禾岚乳业", "启护", "异物", "拉肚子",
        "投诉", "维权", "apple watch", "3·15", "and", "not", 'x"y', "a|b", "(", "source:x",
        "c:\\dir", "！", "或",
    ]
]  # fmt: skip


def random_expr(rng: random.Random, depth: int = 0) -> Expr:
    roll = rng.random()
    if depth >= 3 or roll < 0.35:
        return Term(rng.choice(VOCABULARY))
    if roll < 0.45:
        return Sources(frozenset(rng.sample(SOURCES, rng.randint(1, 3))))
    if roll < 0.6:
        return Not(random_expr(rng, depth + 1))
    operands = tuple(random_expr(rng, depth + 1) for _ in range(rng.randint(2, 4)))
    return And(operands) if roll < 0.8 else Or(operands)


def holds(expr: Expr, hits: Set[str], source: str) -> bool:
    """A reference evaluator, independent of the compiled closures and the index."""
    if isinstance(expr, Term):
        return expr.text in hits
    if isinstance(expr, Sources):
        return source in expr.names
    if isinstance(expr, Not):
        return not holds(expr.operand, hits, source)
    if isinstance(expr, And):
        return all(holds(operand, hits, source) for operand in expr.operands)
    return any(holds(operand, hits, source) for operand in expr.operands)


def positive_terms(expr: Expr, positive: bool = True) -> set[str]:
    if isinstance(expr, Term):
        return {expr.text} if positive else set()
    if isinstance(expr, Sources):
        return set()
    if isinstance(expr, Not):
        return positive_terms(expr.operand, not positive)
    return set().union(*(positive_terms(operand, positive) for operand in expr.operands))


def random_rules(seed: int, count: int) -> list[tuple[Expr, Rule]]:
    rng = random.Random(seed)
    rules: list[tuple[Expr, Rule]] = []
    while len(rules) < count:
        expr = random_expr(rng)
        try:
            rules.append((expr, parse(to_query(expr))))
        except RuleError as error:
            # Refused only for having no term at all, or for matching a post with none of them.
            if positive_terms(expr) | positive_terms(expr, positive=False):
                assert "none of its terms" in error.message
                assert any(holds(expr, set(), source) for source in SOURCES)
            else:
                assert "query has no terms" in error.message
    return rules


def random_hits(rng: random.Random) -> set[str]:
    return set(rng.sample(VOCABULARY, rng.randint(0, 6)))


def test_random_rules_survive_the_canonical_round_trip_with_their_meaning() -> None:
    rng = random.Random(7)
    for written, rule in random_rules(seed=1, count=400):
        canonical = rule.to_query()
        again = parse(canonical)
        assert again == rule
        assert again.to_query() == canonical
        for _ in range(20):
            hits, source = random_hits(rng), rng.choice(SOURCES)
            assert rule.evaluate(hits, source) == holds(written, hits, source)


def test_validation_rejects_exactly_the_rules_true_without_any_term() -> None:
    rng = random.Random(3)
    for _ in range(600):
        expr = random_expr(rng)
        needs_a_term = not any(holds(expr, set(), source) for source in SOURCES)
        has_terms = any(isinstance(node, Term) for node in _nodes(expr))
        try:
            parse(to_query(expr))
            accepted = True
        except RuleError:
            accepted = False
        assert accepted == (needs_a_term and has_terms)


def _nodes(expr: Expr) -> list[Expr]:
    if isinstance(expr, Not):
        return [expr, *_nodes(expr.operand)]
    if isinstance(expr, And | Or):
        return [expr, *(node for operand in expr.operands for node in _nodes(operand))]
    return [expr]


def test_match_equals_brute_force_evaluation_of_every_rule() -> None:
    rules = [(uuid.uuid4(), rule) for _, rule in random_rules(seed=11, count=300)]
    compiled = CompiledRules(rules)
    rng = random.Random(5)
    matched_any = 0
    for _ in range(800):
        hits, source = random_hits(rng), rng.choice(SOURCES)
        expected = [
            (rule_id, tuple(sorted(positive_terms(rule.expr) & hits)))
            for rule_id, rule in rules
            if holds(rule.expr, hits, source)
        ]
        got = [(m.rule_id, m.terms) for m in compiled.match(hits, source)]
        assert got == expected
        assert all(terms for _, terms in got)
        matched_any += bool(got)
    assert matched_any > 300


def test_only_rules_containing_a_hit_term_are_evaluated() -> None:
    rules = [(uuid.uuid4(), rule) for _, rule in random_rules(seed=13, count=300)]
    compiled = CompiledRules(rules)
    rng = random.Random(17)
    for _ in range(300):
        hits = random_hits(rng)
        for number in compiled.candidates(hits):
            assert rules[number][1].terms & hits


def test_an_and_is_filed_under_its_rarest_operand_only() -> None:
    # Three rules share 召回, so the brand-specific rule is filed under 禾岚 alone.
    queries = ["禾岚 & 召回", "飞鹤 & 召回", "伊利 & 召回"]
    compiled = CompiledRules([(uuid.uuid4(), parse(q)) for q in queries])
    assert compiled.candidates({"召回"}) == []
    assert compiled.candidates({"召回", "禾岚"}) == [0]


# --- compiled set ----------------------------------------------------------------------


def test_terms_include_negated_ones_so_the_automaton_can_see_them() -> None:
    compiled = CompiledRules([(uuid.uuid4(), parse(ISSUE_EXAMPLE)), (uuid.uuid4(), parse("禾岚"))])
    assert compiled.terms() == {"奶粉", "米粉", "致癌", "召回", "谣言", "禾岚"}


def test_evidence_leaves_out_negated_terms_and_matches_keep_rule_order() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    compiled = CompiledRules([(first, parse("禾岚 | (奶粉 & !召回)")), (second, parse("召回"))])
    matches = compiled.match({"禾岚", "召回", "奶粉"}, "weibo")
    assert [(m.rule_id, m.terms) for m in matches] == [
        (first, ("奶粉", "禾岚")),
        (second, ("召回",)),
    ]


def test_rule_ids_must_be_unique() -> None:
    same = uuid.uuid4()
    with pytest.raises(ValueError, match="unique"):
        CompiledRules([(same, parse("a")), (same, parse("b"))])


def test_no_rules_match_nothing() -> None:
    compiled = CompiledRules([])
    assert compiled.terms() == frozenset()
    assert compiled.match({"奶粉"}, "weibo") == []


# --- keyword lists ---------------------------------------------------------------------


def test_keywords_become_an_or_query_quoting_where_needed() -> None:
    query = keywords_query(["飞鹤", "Apple Watch", "AND", "a|b", " 飞鹤 ", "", "source:weibo"])
    assert query == '飞鹤 | "Apple Watch" | "AND" | "a|b" | "source:weibo"'
    assert parse(query).expr == Or(
        (t("飞鹤"), t("apple watch"), t("and"), t("a|b"), t("source:weibo"))
    )
    assert matched(query, "我的APPLE WATCH坏了")


def test_keywords_differing_only_in_case_are_kept_once() -> None:
    assert keywords_query(["FeiHe", "feihe", "飞鹤"]) == "FeiHe | 飞鹤"


def test_no_keywords_give_a_query_parse_rejects_as_empty() -> None:
    assert keywords_query(["", "  "]) == ""
    with pytest.raises(RuleError, match="query is empty"):
        parse(keywords_query([]))
