"""Per-post cost of watch rules as an organization's rule count grows from 10 to 10 000.

Each size gets its own rule set, one `TermIndex` over all its terms and one `CompiledRules`;
every post is then timed through `TermIndex.hits` + `CompiledRules.match`, the whole
per-mention cost of rules in the worker (text preparation is the same for any rule count
and is done before timing).

Rules are what a dairy brand's monitoring team would write: the first few watch the
organization's own brand (禾岚) and the rest watch competitors and product lines drawn from
a generated vocabulary of brand names, products, problem words and exclusions, 2-8 terms
each, with ANDs, ORs, NOTs and some source filters. Posts are the demo's chatter and crisis
plus sentences from the seed documents, so most posts hit some problem words and a few hit
the brand.
"""

import argparse
import random
import re
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from crisiswatch.demo_stream import chatter, crisis
from libs.contracts.enums import Source
from libs.text import normalize
from services.analysis.rules import CompiledRules, Rule, parse
from services.analysis.rules.syntax import quote_term
from services.analysis.rules.termform import analysis_form
from services.analysis.terms import TermIndex

SEEDS = Path("/work/shared/seeds")
SIZES = (10, 100, 1_000, 10_000)
SOURCES = [source.value for source in Source]

# Two-character brand names from characters brands like; 36 x 36 names, few of them words.
FIRST = "禾星澜泓瑞祺璟铂曦沐恒晟翊骁芮萃臻颐朗悦蔚琪珂岑嘉煦昀湛栖筠霁沅屹钰奕珞"
SECOND = "岚澜泓瑞祺璟铂曦沐恒晟翊骁芮萃臻颐朗悦蔚琪珂岑嘉煦昀湛栖筠霁沅屹钰奕珞禾"
SUFFIXES = ["乳业", "食品", "母婴", "营养", "生物", "集团"]
PRODUCTS = [
    "奶粉", "米粉", "酸奶", "纯牛奶", "奶酪", "羊奶粉", "有机奶粉", "婴儿辅食", "益生菌",
    "儿童奶", "纸尿裤", "湿巾", "奶瓶", "果泥", "营养包", "启护", "金装", "臻享", "1段",
    "2段", "3段",
]  # fmt: skip
PROBLEMS = [
    "致癌", "召回", "异物", "黑色异物", "拉肚子", "呕吐", "腹泻", "急诊", "胃肠炎", "过期",
    "变质", "发霉", "酸味", "结块", "抽检不合格", "不合格", "下架", "罚款", "立案", "曝光",
    "投诉", "维权", "退款", "赔偿", "假货", "虚假宣传", "客服推诿", "不道歉", "黑猫投诉",
    "3·15", "质量问题", "食品安全", "市场监管", "约谈", "检测报告", "集体诉讼", "避雷",
    "求扩散", "翻车", "塌房",
]  # fmt: skip
EXCLUSIONS = ["谣言", "辟谣", "抽奖", "转发抽奖", "广告", "招聘", "测评", "不实信息"]

# The organization's own rules, first in every set.
OWN_RULES = [
    "(禾岚 | 禾岚乳业 | 禾岚启护) & (异物 | 呕吐 | 腹泻 | 急诊 | 召回) & !辟谣",
    '"禾岚启护" & (3段 | 批号) & !抽奖',
    "禾岚 & (投诉 | 维权 | 退款) & source:(weibo | complaint | xiaohongshu)",
    "(禾岚 | 禾岚乳业) & (声明 | 回应 | 道歉)",
    "禾岚乳业 & !(广告 | 招聘) & source:news",
]


def brands() -> list[str]:
    names = [a + b for a in FIRST for b in SECOND if a != b and a + b != "禾岚"]
    random.Random(0).shuffle(names)
    return names


def either(rng: random.Random, words: list[str], low: int, high: int) -> str:
    chosen = rng.sample(words, rng.randint(low, high))
    inner = " | ".join(quote_term(word) for word in chosen)
    return f"({inner})" if len(chosen) > 1 else inner


def competitor_rule(rng: random.Random, brand: str) -> str:
    """A rule about one brand: its names, a problem clause, maybe an exclusion and source."""
    names = [brand, brand + rng.choice(SUFFIXES), brand + rng.choice(PRODUCTS)]
    shape = rng.random()
    if shape < 0.25:
        query = f"{either(rng, names, 1, 2)} & {either(rng, PROBLEMS, 1, 4)}"
    elif shape < 0.5:
        query = f"{either(rng, names, 1, 3)} & {either(rng, PROBLEMS, 1, 3)} & !{EXCLUSIONS[0]}"
    elif shape < 0.7:
        product = quote_term(brand + " " + rng.choice(PRODUCTS))
        query = f"{product} & {either(rng, PROBLEMS, 1, 3)} & !{either(rng, EXCLUSIONS, 1, 2)}"
    elif shape < 0.85:
        query = f"{either(rng, names, 2, 3)} NOT {either(rng, EXCLUSIONS, 1, 3)}"
    else:
        problems = either(rng, PROBLEMS, 2, 4)
        query = f"{names[0]} {problems} | {names[2]} {rng.choice(PROBLEMS)}"
    if rng.random() < 0.2:
        query = f"({query}) & source:{either(rng, SOURCES, 1, 3)}"
    return query


def rule_set(size: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    pool = brands()
    queries = OWN_RULES[: min(size, len(OWN_RULES))]
    while len(queries) < size:
        queries.append(competitor_rule(rng, pool[len(queries) % len(pool)]))
    return queries


def posts(total: int, seed: int) -> dict[str, list[tuple[str, str]]]:
    """(analysis-form text, source) by kind: posts about brands, and other posts.

    Brand posts are the demo's chatter and crisis about 禾岚, and copies of them about other
    brands of the vocabulary, standing for what ingest collects for an organization that
    watches many brands: the more rules, the more of these some rule is about. Other posts
    are sentences of the seed documents (crisis management in general), which mention
    problem words but no watched brand. A third of `total` is brand posts.
    """
    now = datetime.now(UTC)
    demo = [(post["text"], post["source"]) for post in chatter("bench", now) + crisis("bench", now)]
    rng = random.Random(seed)
    pool = brands()
    about_brands = list(demo)
    while len(about_brands) < total // 3:
        text, source = rng.choice(demo)
        about_brands.append((text.replace("禾岚", rng.choice(pool)), source))
    sentences: list[str] = []
    for path in sorted(SEEDS.glob("*.txt")):
        parts = re.split(r"(?<=[。！？!?])|\n", path.read_text(encoding="utf-8"))
        sentences.extend(part.strip() for part in parts if len(part.strip()) >= 12)
    rng.shuffle(sentences)
    others = [(sentence, rng.choice(SOURCES)) for sentence in sentences]
    while len(others) < total - len(about_brands):
        others.extend(others)
    others = others[: total - len(about_brands)]
    return {
        kind: [(analysis_form(normalize(text)), source) for text, source in texts]
        for kind, texts in (("brand", about_brands), ("other", others))
    }


@dataclass
class Setup:
    """One rule-set size, built, with what was measured for it."""

    size: int
    rules: list[tuple[uuid.UUID, Rule]]
    compiled: CompiledRules
    index: TermIndex
    build_ms: dict[str, float]
    samples: list[float] = field(default_factory=list)
    cpu_us: dict[str, float] = field(default_factory=dict)
    posts: dict[str, int] = field(default_factory=dict)
    hits_cpu_us: float = 0.0
    hits_posts: int = 0


def build(size: int, seed: int) -> Setup:
    queries = rule_set(size, seed)
    clock = time.process_time
    started = clock()
    rules = [(uuid.uuid4(), parse(q)) for q in queries]
    parsed_at = clock()
    compiled = CompiledRules(rules)
    compiled_at = clock()
    index = TermIndex(compiled.terms())
    indexed_at = clock()
    build_ms = {
        "parse": (parsed_at - started) * 1000,
        "compile": (compiled_at - parsed_at) * 1000,
        "index": (indexed_at - compiled_at) * 1000,
    }
    return Setup(size, rules, compiled, index, build_ms)


def time_posts(setup: Setup, kind: str, corpus: list[tuple[str, str]]) -> None:
    """Time every post on the wall clock (for the median) and the batch in CPU time.

    Other processes share the machine: a post preempted mid-call shows up in the wall
    clock but not in CPU time, so means come from CPU time and medians from the wall clock.
    """
    index, compiled, samples = setup.index, setup.compiled, setup.samples
    clock = time.perf_counter_ns
    cpu_started = time.process_time()
    for text, source in corpus:
        begin = clock()
        compiled.match(index.hits(text), source)
        samples.append((clock() - begin) / 1000)
    cpu = (time.process_time() - cpu_started) * 1e6
    setup.cpu_us[kind] = setup.cpu_us.get(kind, 0.0) + cpu
    setup.posts[kind] = setup.posts.get(kind, 0) + len(corpus)


def time_hits(setup: Setup, corpus: list[tuple[str, str]]) -> None:
    """Time the automaton alone, to split the per-post cost between scanning and rules."""
    index = setup.index
    cpu_started = time.process_time()
    for text, _ in corpus:
        index.hits(text)
    setup.hits_cpu_us += (time.process_time() - cpu_started) * 1e6
    setup.hits_posts += len(corpus)


def mean_us(setup: Setup, kind: str | None = None) -> float:
    kinds = [kind] if kind else list(setup.posts)
    return sum(setup.cpu_us[k] for k in kinds) / sum(setup.posts[k] for k in kinds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    corpus = posts(args.posts, args.seed)
    every = [post for kind in corpus.values() for post in kind]
    mean_chars = statistics.mean(len(text) for text, _ in every)
    print(
        f"{len(every)} posts ({len(corpus['brand'])} about brands), {mean_chars:.0f} "
        f"characters on average, {args.rounds} rounds; build times and means in CPU time"
    )
    setups = [build(size, args.seed) for size in SIZES]
    # Sizes take turns within each round, so a slow spell of the machine hits all of them.
    for _ in range(args.rounds):
        for setup in setups:
            for kind, texts in corpus.items():
                time_posts(setup, kind, texts)
            time_hits(setup, every)

    print(
        f"{'rules':>6} {'terms':>6} {'t/rule':>6} {'parse ms':>9} {'compile ms':>10} "
        f"{'index ms':>9} {'p50 µs':>7} {'mean µs':>8} {'hits µs':>8} {'brand µs':>9} "
        f"{'other µs':>9} "
        f"{'evaluated':>9} {'matched':>8}"
    )
    for setup in setups:
        evaluated = matched = 0
        for text, source in every:
            hits = setup.index.hits(text)
            evaluated += len(setup.compiled.candidates(hits))
            matched += bool(setup.compiled.match(hits, source))
        terms_per_rule = statistics.mean(len(rule.terms) for _, rule in setup.rules)
        print(
            f"{setup.size:>6} {len(setup.index):>6} {terms_per_rule:>6.1f} "
            f"{setup.build_ms['parse']:>9.1f} {setup.build_ms['compile']:>10.1f} "
            f"{setup.build_ms['index']:>9.1f} {statistics.median(setup.samples):>7.1f} "
            f"{mean_us(setup):>8.1f} {setup.hits_cpu_us / setup.hits_posts:>8.1f} "
            f"{mean_us(setup, 'brand'):>9.1f} "
            f"{mean_us(setup, 'other'):>9.1f} {evaluated / len(every):>9.2f} "
            f"{matched / len(every):>8.1%}"
        )
    first, last = setups[0], setups[-1]
    print(
        "10 000 rules / 10 rules, per post: "
        f"p50 {statistics.median(last.samples) / statistics.median(first.samples):.2f}x, "
        f"mean {mean_us(last) / mean_us(first):.2f}x "
        f"(brand posts {mean_us(last, 'brand') / mean_us(first, 'brand'):.2f}x, "
        f"other posts {mean_us(last, 'other') / mean_us(first, 'other'):.2f}x)"
    )


if __name__ == "__main__":
    main()
