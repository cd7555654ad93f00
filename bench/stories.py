"""Near-duplicate grouping on labelled pairs: which MinHash parameters, and how fast.

Originals are the demo's posts about the fictional dairy brand (every one mentions it, so
unrelated pairs share the brand, product and complaint vocabulary) and sentences from the
project's seed documents. Each original gets the variants a story really collects:

- `repost`: a short comment in front, Weibo style (`comment//@handle:original`);
- `chain`: a repost of a repost (`c2//@b:c1//@a:original`);
- `punct`: punctuation, emoji and spacing changed;
- `edit`: a few words replaced by others (one per 50 characters, at least one);
- `trunc`: cut to 60–90 % and "…全文" appended, as feeds truncate long posts;
- `repost+trunc`: both.

Positive pairs are (original, variant) and (variant, variant) of one original. Negative
pairs must not group: different demo posts, different seed sentences, a variant of one post
against another post, and two different posts reposted with the same comment. Demo posts
that independently describe the same event (the parent's complaint on two platforms, her
complaint-site entry and the news report) are counted apart as `rewrite`: they are the same
event but not copies, so they are neither positive nor negative.

Everything is seeded: the figures are identical on every run except the timings.
Run: `.venv/bin/python bench/stories.py` (add `--quick` for the chosen parameters only).
"""

import argparse
import itertools
import math
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import opencc
import rjieba
from datasketch import MinHash

from crisiswatch.demo_stream import chatter, crisis
from libs.story_bands import is_lasting
from libs.text import normalize
from services.analysis import stories
from services.analysis.stories import MinHasher, Signature, shingle_hashes

SEEDS = Path("/work/shared/seeds")
SEED_SENTENCES = 150
RANDOM_NEGATIVES = 6000
# The parent's complaint, its Xiaohongshu rewrite, her complaint-site entry, the news report.
REWRITE_AUTHORS = ("糖糖妈咪_", "糖糖妈咪🍬", "黑猫用户7026451", "晨潮新闻")

_T2S = opencc.OpenCC("t2s")
_URL = re.compile(r"https?://\S+")
_EMOJI_CODE = re.compile(r"\[[^\[\]\s]{1,8}\]")
_REPOST_HANDLE = re.compile(r"//@[^:：\s]{1,30}[:：]")
_MENTION = re.compile(r"@[^\s@:：,，。!！?？]{1,30}")
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")
_PUNCT = "，。！？、；：～…—「」（）【】,.!?;:~"
_EMOJI = ("😡", "😭", "[怒]", "[泪]", "🙏", "❤️", "[吃惊]", "👍", "💔", "！！")
_COMMENTS = ("转发微博", "扩散", "求扩散！！", "太可怕了", "已转", "关注", "mark一下", "天呐")


def analysis_form(raw: str) -> str:
    """The analysis form the worker passes in: simplified, NFKC, links, emoji codes, hashtag
    marks and repost handles removed, case-folded."""
    text = _T2S.convert(normalize(raw))
    text = _URL.sub(" ", text)
    text = _EMOJI_CODE.sub(" ", text)
    text = _REPOST_HANDLE.sub(" ", text)
    text = _MENTION.sub(lambda match: match.group(0)[1:], text)
    return text.replace("#", " ").casefold()


@dataclass(frozen=True)
class Original:
    key: str
    raw: str
    origin: str  # "demo" or "seed"
    author: str = ""


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    label: str  # "same", "different" or "rewrite"
    kind: str


def demo_originals() -> list[Original]:
    now = datetime(2026, 3, 15, 20, 0, tzinfo=UTC)
    posts = chatter("bench", now) + crisis("bench", now)
    originals = []
    for post in posts:
        # Quoted chains are generated below as variants; keep each author's own words.
        own = post["text"].split("//@", 1)[0]
        originals.append(Original(post["external_id"], own, "demo", post["author"]["handle"]))
    return originals


def seed_originals(rng: random.Random) -> list[Original]:
    sentences: set[str] = set()
    for path in sorted(SEEDS.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            for match in _SENTENCE.finditer(line):
                sentence = match.group(0).strip()
                if 25 <= len(sentence) <= 160 and not re.search(r"[_頁页]|\d\.\d", sentence):
                    sentences.add(_T2S.convert(sentence))
    chosen = rng.sample(sorted(sentences), SEED_SENTENCES)
    return [Original(f"seed-{index}", text, "seed") for index, text in enumerate(chosen)]


def comment(rng: random.Random, pool: Sequence[str]) -> str:
    if rng.random() < 0.3:
        return rng.choice(_COMMENTS)
    source = rng.choice(pool)
    return source[: rng.randint(4, 30)]


def punctuate(text: str, rng: random.Random) -> str:
    out = []
    for char in text:
        if char in _PUNCT:
            roll = rng.random()
            if roll < 0.4:
                continue
            out.append(rng.choice(_PUNCT) if roll < 0.7 else char)
        else:
            out.append(char)
        if rng.random() < 0.04:
            out.append(rng.choice((" ", "  ", rng.choice(_EMOJI))))
    return "".join(out)


def edit_words(text: str, rng: random.Random, vocabulary: Sequence[str]) -> str:
    tokens = rjieba.cut(text)
    slots = [index for index, token in enumerate(tokens) if token.strip(_PUNCT + " ")]
    for index in rng.sample(slots, min(len(slots), 1 + len(text) // 50)):
        tokens[index] = "" if rng.random() < 0.25 else rng.choice(vocabulary)
    return "".join(tokens)


def truncate(text: str, rng: random.Random) -> str:
    return text[: max(1, int(len(text) * rng.uniform(0.6, 0.9)))] + "…全文"


def variants(
    original: Original, rng: random.Random, pool: Sequence[str], vocabulary: Sequence[str]
) -> list[tuple[str, str]]:
    raw = original.raw
    who = original.author or "某网友"
    c1, c2 = comment(rng, pool), comment(rng, pool)
    return [
        ("repost", f"{c1}//@{who}:{raw}"),
        ("chain", f"{c2}//@路人甲:{c1}//@{who}:{raw}"),
        ("punct", punctuate(raw, rng)),
        ("edit", edit_words(raw, rng, vocabulary)),
        ("trunc", truncate(raw, rng)),
        ("repost+trunc", f"{comment(rng, pool)}//@{who}:{truncate(raw, rng)}"),
    ]


def labelled_pairs(rng: random.Random) -> tuple[list[Pair], list[Original]]:
    demo = demo_originals()
    originals = demo + seed_originals(rng)
    pool = [analysis_form(o.raw) for o in demo]
    vocabulary = [t for o in originals for t in rjieba.cut(o.raw) if len(t.strip(_PUNCT)) >= 2]
    pairs: list[Pair] = []
    made: dict[str, list[tuple[str, str]]] = {}
    for original in originals:
        made[original.key] = variants(original, rng, pool, vocabulary)
        for kind, text in made[original.key]:
            pairs.append(Pair(original.raw, text, "same", f"{original.origin}:{kind}"))
        for (kind_a, a), (kind_b, b) in itertools.combinations(made[original.key], 2):
            pairs.append(Pair(a, b, "same", f"{original.origin}:{kind_a}~{kind_b}"))
    rewrites = [o for o in demo if o.author in REWRITE_AUTHORS]
    for x, y in itertools.combinations(demo, 2):
        label = "rewrite" if x in rewrites and y in rewrites else "different"
        pairs.append(Pair(x.raw, y.raw, label, "demo:post~post"))
    seeds = [o for o in originals if o.origin == "seed"]
    for _ in range(RANDOM_NEGATIVES):
        x, y = rng.sample(seeds, 2)
        pairs.append(Pair(x.raw, y.raw, "different", "seed:sentence~sentence"))
    for _ in range(RANDOM_NEGATIVES):
        x, y = rng.sample(demo, 2)
        if {x.author, y.author} <= set(REWRITE_AUTHORS):
            continue
        kind, text = rng.choice(made[x.key])
        pairs.append(Pair(text, y.raw, "different", f"demo:{kind}~other post"))
    for index in range(RANDOM_NEGATIVES // 4):
        x, y = rng.sample(demo, 2)
        if {x.author, y.author} <= set(REWRITE_AUTHORS):
            continue
        # Stock comments are what many users really attach to different posts; a long
        # identical comment on two different posts is the adversarial case.
        stock = index % 2 == 0
        said = rng.choice(_COMMENTS) if stock else rng.choice(pool)[: rng.randint(10, 30)]
        kind = "demo:same stock comment" if stock else "demo:same long comment"
        pairs.append(Pair(f"{said}//@a:{x.raw}", f"{said}//@b:{y.raw}", "different", kind))
    return pairs, originals


def exact_jaccard(a: str, b: str, ngram: int) -> float | None:
    sa, sb = set(shingle_hashes(a, ngram).tolist()), set(shingle_hashes(b, ngram).tolist())
    if not sa or not sb:
        return None
    return len(sa & sb) / len(sa | sb)


@dataclass
class Scored:
    pair: Pair
    similarity: float | None  # None: one side too short to sign
    sig_a: Signature | None
    sig_b: Signature | None


def score(hasher: MinHasher, pairs: Sequence[Pair], forms: dict[str, str]) -> list[Scored]:
    cache: dict[str, Signature | None] = {}

    def sign(raw: str) -> Signature | None:
        if raw not in cache:
            cache[raw] = hasher.signature(forms[raw])
        return cache[raw]

    out = []
    for pair in pairs:
        a, b = sign(pair.a), sign(pair.b)
        similarity = a.similarity(b) if a is not None and b is not None else None
        out.append(Scored(pair, similarity, a, b))
    return out


def precision_recall(scored: Iterable[Scored], threshold: float) -> tuple[float, float, int, int]:
    tp = fp = fn = 0
    for item in scored:
        grouped = item.similarity is not None and item.similarity >= threshold
        if item.pair.label == "same":
            tp += grouped
            fn += not grouped
        elif item.pair.label == "different":
            fp += grouped
    precision = tp / (tp + fp) if tp + fp else 1.0
    return precision, tp / (tp + fn), fp, fn


def best_threshold(scored: Sequence[Scored]) -> tuple[float, float, float]:
    """The threshold with the best F1 (ties: the higher threshold, for precision)."""
    best = (0.0, 0.0, 0.0, 0.0)
    for step in range(5, 96):
        threshold = step / 100
        precision, recall, _, _ = precision_recall(scored, threshold)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if f1 >= best[0]:
            best = (f1, threshold, precision, recall)
    return best[1], best[2], best[3]


def lsh_figures(
    hasher: MinHasher,
    scored: Sequence[Scored],
    threshold: float,
    kept: Callable[[int], bool] = lambda _: True,
) -> tuple[float, float, float, float]:
    """Candidate recall of same-story pairs at or above the threshold; precision and recall
    of "candidate and at or above the threshold" (what the database lookup then decides);
    and the share of different pairs that become candidates (wasted comparisons).

    `kept` says which of the first post's keys the story still holds: all while it is
    recent, the long-kept quarter once it has been quiet (`libs.story_bands.is_lasting`).
    """
    keys: dict[Signature, set[int]] = {}

    def share_band(a: Signature, b: Signature) -> bool:
        for sig in (a, b):
            if sig not in keys:
                keys[sig] = set(hasher.band_keys(sig))
        return any(kept(k) for k in keys[a] & keys[b])

    above = above_hit = same = tp = fp = different = different_hit = 0
    for item in scored:
        if item.pair.label == "same":
            same += 1
        if item.sig_a is None or item.sig_b is None or item.pair.label == "rewrite":
            continue
        hit = share_band(item.sig_a, item.sig_b)
        grouped = hit and item.similarity is not None and item.similarity >= threshold
        if item.pair.label == "same":
            tp += grouped
            if item.similarity is not None and item.similarity >= threshold:
                above += 1
                above_hit += hit
        else:
            different += 1
            different_hit += hit
            fp += grouped
    return above_hit / above, tp / (tp + fp), tp / same, different_hit / different


def s_curve(similarity: float, bands: int, rows: int) -> float:
    return 1 - (1 - similarity**rows) ** bands


def timing_texts() -> list[str]:
    """100-character posts in analysis form, cut from the demo's texts."""
    forms = [analysis_form(o.raw) for o in demo_originals()]
    joined = "".join(forms)
    return [joined[start : start + 100] for start in range(0, len(joined) - 100, 37)][:300]


def per_call_us(function: Callable[[str], object], texts: Sequence[str], rounds: int) -> float:
    """CPU time of this process, best round: other processes on the machine inflate wall
    time far more than CPU time."""
    best = math.inf
    for _ in range(rounds):
        started = time.process_time()
        for text in texts:
            function(text)
        best = min(best, (time.process_time() - started) / len(texts))
    return best * 1e6


def datasketch_signer(hasher: MinHasher) -> Callable[[str], object]:
    template = MinHash(num_perm=hasher.num_perm)  # permutations made once, not per post

    def sign(text: str) -> object:
        letters = re.sub(r"[\W_]+", "", text)
        shingles = [
            letters[i : i + hasher.ngram].encode() for i in range(len(letters) - hasher.ngram + 1)
        ]
        minhash = MinHash(
            num_perm=hasher.num_perm, permutations=template.permutations, scheme=template.scheme
        )
        minhash.update_batch(shingles)
        return minhash.hashvalues

    return sign


def cross_process_check(texts: Sequence[str]) -> bool:
    """Sign the same texts in two fresh interpreters with different hash seeds."""
    program = (
        "import sys,hashlib\n"
        "from services.analysis.stories import signature\n"
        "h=hashlib.sha256()\n"
        "for line in sys.stdin.read().split('\\n'):\n"
        "    s=signature(line)\n"
        "    h.update(s.to_bytes() if s else b'-')\n"
        "print(h.hexdigest())\n"
    )
    digests = set()
    for seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", program],
            input="\n".join(texts),
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            cwd=Path(__file__).resolve().parents[1],
        )
        digests.add(result.stdout.strip())
    return len(digests) == 1


def table_head(*columns: str) -> str:
    """Return a Markdown table's header row and the rule under it."""
    return "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns)


def report_grid(pairs: Sequence[Pair], forms: dict[str, str], texts: Sequence[str]) -> None:
    threshold = stories.SIMILARITY_THRESHOLD
    print("\n## Parameter grid: n-gram size × permutations\n")
    print(
        table_head(
            "n-gram",
            "perms",
            f"precision @ {threshold}",
            f"recall @ {threshold}",
            "recall original~variant",
            "recall variant~variant",
            "best-F1 threshold (P / R)",
            "different pairs (no long comment): 99.9th pct / max est. J",
            "µs/signature",
        )
    )
    for ngram in (2, 3, 4, 5):
        for perms in (60, 120, 240):
            hasher = MinHasher(ngram=ngram, num_perm=perms, bands=perms // 3)
            scored = score(hasher, pairs, forms)
            precision, recall, _, _ = precision_recall(scored, threshold)
            direct = [s for s in scored if s.pair.label != "same" or "~" not in s.pair.kind]
            between = [s for s in scored if s.pair.label != "same" or "~" in s.pair.kind]
            best, best_p, best_r = best_threshold(scored)
            us = per_call_us(hasher.signature, texts, 3)
            realistic = sorted(
                s.similarity
                for s in scored
                if s.pair.label == "different"
                and s.similarity is not None
                and "long comment" not in s.pair.kind
            )
            tail = realistic[int(0.999 * (len(realistic) - 1))]
            print(
                f"| {ngram} | {perms} | {precision:.4f} | {recall:.4f} "
                f"| {precision_recall(direct, threshold)[1]:.4f} "
                f"| {precision_recall(between, threshold)[1]:.4f} "
                f"| {best:.2f} ({best_p:.4f} / {best_r:.4f}) "
                f"| {tail:.2f} / {realistic[-1]:.2f} | {us:.1f} |"
            )


def report_exact(pairs: Sequence[Pair], forms: dict[str, str]) -> None:
    print("\n## Exact Jaccard (no MinHash): best-F1 threshold per n-gram size\n")
    print(table_head("n-gram", "threshold", "precision", "recall"))
    for ngram in (2, 3, 4, 5):
        scored = [
            Scored(p, exact_jaccard(forms[p.a], forms[p.b], ngram), None, None) for p in pairs
        ]
        threshold, precision, recall = best_threshold(scored)
        print(f"| {ngram} | {threshold:.2f} | {precision:.4f} | {recall:.4f} |")


def report_chosen(pairs: Sequence[Pair], forms: dict[str, str], texts: Sequence[str]) -> None:
    hasher = stories.DEFAULT
    threshold = stories.SIMILARITY_THRESHOLD
    scored = score(hasher, pairs, forms)
    labels = Counter(p.label for p in pairs)
    print(
        f"\n## Chosen: n-gram {hasher.ngram}, {hasher.num_perm} permutations, "
        f"{hasher.bands} bands × {hasher.rows} rows, threshold {threshold}, "
        f"min {hasher.min_chars} characters\n"
    )
    print(f"pairs: {labels['same']} same-story, {labels['different']} different, ", end="")
    print(f"{labels['rewrite']} same-event rewrites")
    print()
    print(table_head("threshold", "precision", "recall", "false groupings", "missed"))
    for candidate in (0.3, 0.35, 0.4, 0.45, 0.5, 0.6):
        precision, recall, fp, fn = precision_recall(scored, candidate)
        mark = " ←" if math.isclose(candidate, threshold) else ""
        print(f"| {candidate}{mark} | {precision:.4f} | {recall:.4f} | {fp} | {fn} |")

    print("\n### Recall by variant (same-story pairs)\n")
    print(table_head("kind", "pairs", "grouped", "too short", "median est. Jaccard"))
    by_kind: dict[str, list[Scored]] = defaultdict(list)
    for item in scored:
        if item.pair.label == "same" and "~" not in item.pair.kind:
            by_kind[item.pair.kind].append(item)
    combined = [s for s in scored if s.pair.label == "same" and "~" in s.pair.kind]
    by_kind["variant~variant (all kinds)"] = combined
    for kind in sorted(by_kind):
        items = by_kind[kind]
        grouped = sum(s.similarity is not None and s.similarity >= threshold for s in items)
        short = sum(s.similarity is None for s in items)
        median = statistics.median(s.similarity for s in items if s.similarity is not None)
        print(f"| {kind} | {len(items)} | {grouped / len(items):.3f} | {short} | {median:.2f} |")

    print("\n### Different pairs: how close they come\n")
    print(table_head("kind", "pairs", "grouped (false)", "max est. Jaccard", "99th pct"))
    negatives: dict[str, list[float]] = defaultdict(list)
    for item in scored:
        if item.pair.label == "different" and item.similarity is not None:
            kind = item.pair.kind.split(":")[1]
            kind = "variant~other post" if kind.endswith("~other post") else kind
            negatives[kind].append(item.similarity)
    for kind in sorted(negatives):
        values = sorted(negatives[kind])
        false = sum(v >= threshold for v in values)
        pct = values[int(0.99 * (len(values) - 1))]
        print(f"| {kind} | {len(values)} | {false} | {values[-1]:.2f} | {pct:.2f} |")
    rewrites = [s.similarity for s in scored if s.pair.label == "rewrite"]
    print(
        "\nsame-event rewrites (not copies): est. Jaccard "
        + ", ".join(f"{v:.2f}" for v in rewrites if v is not None)
    )

    errors = []
    for item in scored[:: max(1, len(scored) // 3000)]:
        exact = exact_jaccard(forms[item.pair.a], forms[item.pair.b], hasher.ngram)
        if exact is not None and item.similarity is not None:
            errors.append(abs(exact - item.similarity))
    p95 = sorted(errors)[int(0.95 * len(errors))]
    print(
        f"\nestimator error against exact Jaccard ({len(errors)} pairs): "
        f"mean {statistics.mean(errors):.3f}, 95th pct {p95:.3f}"
    )

    print("\n## LSH bands × rows (candidates share at least one band key)\n")
    print(
        table_head(
            "bands × rows = perms",
            "S-curve 50 % at",
            "P(cand.) at J = 0.3 / 0.4 / 0.5",
            "candidate recall (pairs ≥ threshold)",
            "different pairs made candidates",
            "end-to-end precision",
            "end-to-end recall",
        )
    )
    for bands, rows in ((16, 8), (32, 4), (40, 3), (42, 3), (48, 3), (64, 2)):
        variant = MinHasher(hasher.ngram, bands * rows, bands, hasher.min_chars)
        variant_scored = score(variant, pairs, forms)
        above, end_precision, end_recall, different = lsh_figures(
            variant, variant_scored, threshold
        )
        half = next(s / 100 for s in range(1, 101) if s_curve(s / 100, bands, rows) >= 0.5)
        curve = " / ".join(f"{s_curve(j, bands, rows):.2f}" for j in (0.3, 0.4, 0.5))
        mark = " ←" if (bands, rows) == (hasher.bands, hasher.rows) else ""
        print(
            f"| {bands} × {rows} = {bands * rows}{mark} | {half:.2f} | {curve} | {above:.4f} "
            f"| {different:.4f} | {end_precision:.4f} | {end_recall:.4f} |"
        )

    above, end_precision, end_recall, different = lsh_figures(hasher, scored, threshold, is_lasting)
    print(
        f"| {hasher.bands} × {hasher.rows}, a story quiet past "
        "`RETENTION_STORY_BANDS_RECENT_HOURS` (its long-kept quarter of keys) | | "
        f"| {above:.4f} | {different:.4f} | {end_precision:.4f} | {end_recall:.4f} |"
    )

    print(
        "\n## Speed (CPU time of one process, best of 5 rounds over 300 posts of 100 "
        f"characters; load average during the run {os.getloadavg()[0]:.1f})\n"
    )
    sig = hasher.signature(texts[0])
    assert sig is not None
    timings = [
        ("signature()", per_call_us(stories.signature, texts, 5)),
        ("band_keys()", per_call_us(lambda _: stories.band_keys(sig), texts, 5)),
        ("Signature.to_bytes()", per_call_us(lambda _: sig.to_bytes(), texts, 5)),
        ("Signature.similarity()", per_call_us(lambda _: sig.similarity(sig), texts, 5)),
        (
            "datasketch MinHash.update_batch, same shingles",
            per_call_us(datasketch_signer(hasher), texts, 3),
        ),
    ]
    print(table_head("operation", "µs per call"))
    for name, us in timings:
        print(f"| {name} | {us:.1f} |")
    same_bytes = cross_process_check(texts[:100])
    print(f"\nsame bytes in two processes with different PYTHONHASHSEED: {same_bytes}")
    print(f"signature size: {len(sig.to_bytes())} bytes; band keys: {len(stories.band_keys(sig))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the chosen parameters")
    args = parser.parse_args()
    pairs, _ = labelled_pairs(random.Random(20260315))
    forms = {text: analysis_form(text) for pair in pairs for text in (pair.a, pair.b)}
    texts = timing_texts()
    np.seterr(over="ignore")
    if not args.quick:
        report_exact(pairs, forms)
        report_grid(pairs, forms, texts)
    report_chosen(pairs, forms, texts)


if __name__ == "__main__":
    main()
