"""Segmentation engines and text preparation on realistic posts.

The corpus is the demo stream's posts (several runs, so the slots are filled differently)
plus the sentences of the seed documents in /work/shared/seeds, traditional ones included,
all normalised as ingest stores them and prepared (simplified) as analysis reads them. The
distinct texts are repeated to a fixed total so every engine cuts the same work.

For each engine: dictionary load time; throughput (best of three runs); agreement with
jieba, the reference (share of texts cut identically, and token-level F1 over character
spans); whether user words stay whole; and the cost of cutting with an organization's
`keep_whole` index of 200 terms against cutting without one. Then the µs per post of
`textprep.prepare()`. Speed is only measured here, never asserted in tests.

Times are CPU seconds of this process (`time.process_time`): the work is single-threaded,
so on an idle machine they equal wall time, and on a busy shared one they still measure
the work rather than the wait for a core.
"""

import argparse
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import rjieba

from crisiswatch.demo_stream import BRAND_KEYWORDS, chatter, crisis
from libs.text import normalize, to_simplified
from services.analysis.segmentation import ENGINES, Segmenter
from services.analysis.terms import TermIndex
from services.analysis.textprep import prepare

SEEDS = Path("/work/shared/seeds")
_SENTENCE_END = re.compile(r"(?<=[。！？!?;；])|\n")
# Made-up names no dictionary knows: each must come out as one token once added.
USER_WORDS = ("禾岚乳业", "禾岚启护", "晨潮新闻", "岚途优选", "悠羊小贝")
USER_SENTENCES = (
    "联系禾岚乳业客服说禾岚启护的罐子有问题",
    "晨潮新闻报道了岚途优选的悠羊小贝奶粉",
    "禾岚乳业回应称禾岚启护三段已下架，岚途优选暂停销售",
)


def demo_texts(runs: int) -> list[str]:
    now = datetime.now(UTC)
    texts = []
    for run in range(runs):
        texts += [
            post["text"] for post in chatter(f"bench-{run}", now) + crisis(f"bench-{run}", now)
        ]
    return texts


def seed_sentences(folder: Path) -> list[str]:
    sentences = []
    for path in sorted(folder.glob("*.txt")):
        if path.name.lower() == "readme.txt":
            continue
        for piece in _SENTENCE_END.split(path.read_text(encoding="utf-8")):
            sentence = piece.strip()
            if 8 <= len(sentence) <= 300:
                sentences.append(sentence)
    return sentences


def corpus(runs: int) -> list[str]:
    """Distinct normalised texts, as analysis reads them (`libs.text.normalize`)."""
    raw = demo_texts(runs) + seed_sentences(SEEDS)
    return list(dict.fromkeys(normalize(text) for text in raw))


def cut_all(segmenter: Segmenter, texts: Sequence[str], index: TermIndex | None = None) -> None:
    for text in texts:
        segmenter.cut(text, keep_whole=index)


def best_of(runs: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


def spans(text: str, tokens: Sequence[str]) -> set[tuple[int, int]]:
    """Character spans of tokens, which appear in text order with only whitespace dropped."""
    found = set()
    position = 0
    for token in tokens:
        start = text.index(token, position)
        found.add((start, start + len(token)))
        position = start + len(token)
    return found


def agreement(texts: Sequence[str], reference: list[list[str]], cuts: list[list[str]]) -> str:
    identical = sum(a == b for a, b in zip(reference, cuts, strict=True))
    common = predicted = expected = 0
    for text, ref, got in zip(texts, reference, cuts, strict=True):
        ref_spans, got_spans = spans(text, ref), spans(text, got)
        common += len(ref_spans & got_spans)
        predicted += len(got_spans)
        expected += len(ref_spans)
    precision, recall = common / predicted, common / expected
    f1 = 2 * precision * recall / (precision + recall)
    return f"{identical / len(texts):.1%} identical texts, token F1 {f1:.4f}"


def user_words_kept(segmenter: Segmenter) -> str:
    kept = total = 0
    for sentence in USER_SENTENCES:
        tokens = segmenter.cut(sentence)
        for word in USER_WORDS:
            occurrences = sentence.count(word)
            total += occurrences
            kept += min(occurrences, tokens.count(word))
    return f"{kept}/{total} user-word occurrences whole"


def keep_whole_indexes(reference: list[list[str]], size: int) -> dict[str, TermIndex]:
    """Two indexes of `size` terms: the brand's names plus other words of the corpus.

    "dense" adds the most frequent multi-character words, so most posts hold several
    protected spans (a worst case); "sparse" adds words found in a single text, closer to
    an organization's names and cues, which most posts do not contain.
    """
    counts = Counter(token for tokens in reference for token in tokens if len(token) >= 2)
    texts_with = Counter(token for tokens in reference for token in set(tokens) if len(token) >= 2)
    frequent = [word for word, _ in counts.most_common()]
    rare = sorted(word for word, n in texts_with.items() if n == 1)
    indexes = {}
    for name, candidates in (("dense", frequent), ("sparse", rare)):
        terms = list(BRAND_KEYWORDS)
        terms += [word for word in candidates if word not in terms][: size - len(terms)]
        indexes[name] = TermIndex(terms)
    return indexes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=20000, help="texts cut per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the best counts")
    parser.add_argument("--demo-runs", type=int, default=5, help="demo stream runs in the corpus")
    parser.add_argument("--terms", type=int, default=200, help="size of the keep_whole index")
    args = parser.parse_args()

    distinct = corpus(args.demo_runs)
    prepared = [prepare(text) for text in distinct]
    texts = [p.simplified for p in prepared]
    workload = [texts[i % len(texts)] for i in range(args.posts)]
    chars = sum(len(text) for text in workload)
    traditional = sum(p.simplified != p.original for p in prepared)
    print(
        f"corpus: {len(distinct)} distinct texts ({traditional} changed by t2s), "
        f"{args.posts} posts per run, {chars / args.posts:.0f} chars/post on average"
    )

    segmenters: dict[str, Segmenter] = {}
    print(f"\n{'engine':<11} {'load s':>7} {'chars/s':>11} {'posts/s':>9}  agreement with jieba")
    reference: list[list[str]] = []
    for engine in ENGINES:
        started = time.process_time()
        segmenter = Segmenter(engine)
        segmenter.load()
        load = time.process_time() - started
        segmenters[engine] = segmenter
        seconds = best_of(args.runs, partial(cut_all, segmenter, workload))
        cuts = [segmenter.cut(text) for text in texts]
        if engine == "jieba":
            reference = cuts
        print(
            f"{engine:<11} {load:>7.2f} {chars / seconds:>11,.0f} {args.posts / seconds:>9,.0f}  "
            f"{agreement(texts, reference, cuts)}"
        )

    raw = rjieba.Jieba()
    raw_cuts = [[token for token in raw.cut(text) if not token.isspace()] for text in texts]
    label = "rjieba, binding output as is"
    print(f"{label:<43}{agreement(texts, reference, raw_cuts)}")

    indexes = keep_whole_indexes(reference, args.terms)
    print("\nkeep_whole indexes:")
    for name, index in indexes.items():
        spans_per_post = sum(len(index.longest_spans(t.lower())) for t in workload) / args.posts
        print(f"  {name:<6} {len(index)} terms, {spans_per_post:.2f} protected spans per post")
    header = "".join(f"{name + ' µs (cost)':>20}" for name in indexes)
    print(f"{'engine':<11} {'plain µs':>8}{header}  user words in the shared dictionary")
    for engine, segmenter in segmenters.items():
        plain = best_of(args.runs, partial(cut_all, segmenter, workload))
        row = f"{engine:<11} {plain / args.posts * 1e6:>8.1f}"
        for index in indexes.values():
            seconds = best_of(args.runs, partial(cut_all, segmenter, workload, index))
            row += f"{f'{seconds / args.posts * 1e6:.1f} ({seconds / plain - 1:+.0%})':>20}"
        segmenter.add_words(USER_WORDS)
        print(f"{row}  {user_words_kept(segmenter)}")

    raw_workload = [distinct[i % len(distinct)] for i in range(args.posts)]
    seconds = best_of(args.runs, lambda: [prepare(text) for text in raw_workload])
    convert = best_of(args.runs, lambda: [to_simplified(text) for text in raw_workload])
    print(
        f"\nprepare(): {seconds / args.posts * 1e6:.1f} µs/post "
        f"(of which OpenCC t2s {convert / args.posts * 1e6:.1f} µs), "
        f"{args.posts / seconds:,.0f} posts/s"
    )


if __name__ == "__main__":
    main()
