"""Sentiment on posts the model never saw: per-class precision, recall, F1 and confusion.

    .venv/bin/python bench/sentiment_eval.py

Reads `bench/data/sentiment_eval.tsv` (1,703 hand-written posts, labelled by the guideline
in docs/sentiment.md, never trained on), prepares each post as the worker does (traditional
to simplified, bracket codes and emoji set aside, segmented with the model's vocabulary
kept whole), and prints the figures overall, per style and per platform, plus the scoring
time per post beside the time segmentation alone takes on the same posts.
"""

import argparse
import csv
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from libs.contracts.enums import Sentiment
from libs.text import to_simplified
from services.analysis.sentiment import corpus
from services.analysis.sentiment.evaluate import Cut, metrics, tokenizer
from services.analysis.sentiment.model import CLASSES, SentimentModel

DATA = Path(__file__).parent / "data" / "sentiment_eval.tsv"


@dataclass(frozen=True)
class Post:
    """One labelled evaluation post and where it came from."""

    id: str
    platform: str
    style: str
    label: Sentiment
    text: str


def load(path: Path = DATA) -> list[Post]:
    """Read the evaluation set."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [
            Post(row["id"], row["platform"], row["style"], Sentiment(row["label"]), row["text"])
            for row in rows
        ]


def per_class(truth: Sequence[Sentiment], predicted: Sequence[Sentiment]) -> str:
    """Return a table of precision, recall and F1 per class."""
    lines = ["| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for label in CLASSES:
        hits = sum(t == p == label for t, p in zip(truth, predicted, strict=True))
        said = sum(p == label for p in predicted)
        real = sum(t == label for t in truth)
        precision = hits / said if said else 0.0
        recall = hits / real if real else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        lines.append(f"| {label.value} | {precision:.3f} | {recall:.3f} | {f1:.3f} | {real} |")
    return "\n".join(lines)


def by_group(posts: Sequence[Post], predicted: Sequence[Sentiment], key: str) -> str:
    """Return accuracy per value of `key` (style or platform), worst first."""
    hits: dict[str, list[bool]] = defaultdict(list)
    for post, label in zip(posts, predicted, strict=True):
        hits[getattr(post, key)].append(post.label == label)
    rows = sorted(hits.items(), key=lambda item: sum(item[1]) / len(item[1]))
    lines = [f"| {key} | accuracy | posts |", "|---|---|---|"]
    lines += [f"| {name} | {sum(ok) / len(ok):.3f} | {len(ok)} |" for name, ok in rows]
    return "\n".join(lines)


def classify_all(model: SentimentModel, posts: Sequence[Post], cut: Cut) -> list[Sentiment]:
    """Classify every post as the worker would."""
    out = []
    for post in posts:
        text, emoji = corpus.split_emoji(to_simplified(post.text))
        out.append(model.classify(cut(text), text, emoji).label)
    return out


def timing(model: SentimentModel, posts: Sequence[Post], cut: Cut) -> tuple[float, float]:
    """Return µs per post for segmentation alone and for classifying the segmented post."""
    prepared = [corpus.split_emoji(to_simplified(post.text)) for post in posts]
    start = time.process_time()
    tokens = [cut(text) for text, _ in prepared]
    segmenting = time.process_time() - start
    start = time.process_time()
    for (text, emoji), words in zip(prepared, tokens, strict=True):
        model.classify(words, text, emoji)
    scoring = time.process_time() - start
    return segmenting / len(posts) * 1e6, scoring / len(posts) * 1e6


def main() -> None:
    """Print the evaluation figures of the committed model."""
    argparse.ArgumentParser(description=__doc__).parse_args()
    model = SentimentModel.load()
    cut = tokenizer(model.vocabulary())
    posts = load()
    predicted = classify_all(model, posts, cut)
    truth = [post.label for post in posts]
    print(metrics(truth, predicted).report("evaluation set (never trained on)"))
    print()
    print(per_class(truth, predicted))
    print()
    print(by_group(posts, predicted, "style"))
    print()
    print(by_group(posts, predicted, "platform"))
    segmenting, scoring = timing(model, posts, cut)
    print()
    print(
        f"scoring: {scoring:.1f} µs per post; segmentation alone: {segmenting:.1f} µs "
        f"(ratio {scoring / segmenting:.2f})"
    )


if __name__ == "__main__":
    main()
