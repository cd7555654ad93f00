"""Accuracy, macro-F1 and confusion of a model on labelled examples, plus a scoring benchmark.

`python -m services.analysis.sentiment.evaluate` recomputes every figure of
docs/sentiment.md for the committed model: the held-out split and the out-of-domain check
set, and the time scoring takes per post once the post is segmented.
"""

import argparse
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jieba

from libs.contracts.enums import Sentiment
from services.analysis.sentiment import corpus
from services.analysis.sentiment.model import CLASSES, SentimentModel


@dataclass(frozen=True)
class Metrics:
    """Accuracy, macro-F1 and the confusion matrix (rows: true, columns: predicted)."""

    accuracy: float
    macro_f1: float
    confusion: tuple[tuple[int, ...], ...]

    def report(self, title: str) -> str:
        """Return the figures as a small markdown table."""
        names = [c.value for c in CLASSES]
        lines = [
            f"{title}: n={sum(map(sum, self.confusion))} accuracy={self.accuracy:.3f} "
            f"macro-F1={self.macro_f1:.3f}",
            "",
            "| true \\ predicted | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(names),
        ]
        for name, row in zip(names, self.confusion, strict=True):
            lines.append(f"| {name} | " + " | ".join(str(n) for n in row) + " |")
        return "\n".join(lines)


def metrics(truth: Sequence[Sentiment], predicted: Sequence[Sentiment]) -> Metrics:
    """Return the metrics of `predicted` against `truth`."""
    index = {c: i for i, c in enumerate(CLASSES)}
    confusion = [[0] * len(CLASSES) for _ in CLASSES]
    for t, p in zip(truth, predicted, strict=True):
        confusion[index[t]][index[p]] += 1
    f1s = []
    for i in range(len(CLASSES)):
        hits = confusion[i][i]
        precision_base = sum(row[i] for row in confusion)
        recall_base = sum(confusion[i])
        precision = hits / precision_base if precision_base else 0.0
        recall = hits / recall_base if recall_base else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    total = sum(map(sum, confusion))
    correct = sum(confusion[i][i] for i in range(len(CLASSES)))
    return Metrics(
        accuracy=correct / total if total else 0.0,
        macro_f1=sum(f1s) / len(f1s),
        confusion=tuple(tuple(row) for row in confusion),
    )


Cut = Callable[[str], list[str]]


def tokenizer(vocabulary: frozenset[str]) -> Cut:
    """Return a cut function of a fresh jieba tokenizer that keeps `vocabulary` whole.

    Matches the worker's segmenter, which loads the same words at start.
    """
    engine = jieba.Tokenizer()
    engine.initialize()
    for word in sorted(vocabulary):
        engine.add_word(word)

    def cut(text: str) -> list[str]:
        return [t for t in engine.cut(text) if t.strip()]

    return cut


def evaluate(model: SentimentModel, examples: Sequence[corpus.Example], cut: Cut) -> Metrics:
    """Return the metrics of `model` on `examples`."""
    predicted = [model.classify(cut(e.text), e.text, e.emoji).label for e in examples]
    return metrics([e.label for e in examples], predicted)


def benchmark(model: SentimentModel, examples: Sequence[corpus.Example], cut: Cut) -> float:
    """Return microseconds `classify` takes per post, segmentation excluded.

    CPU time of the process, best of five passes, so other processes on the machine weigh
    as little as possible.
    """
    prepared = [(cut(e.text), e.text, e.emoji) for e in examples]
    passes = max(1, 10_000 // max(1, len(prepared)))
    best = math.inf
    for _ in range(5):
        start = time.process_time()
        for _ in range(passes):
            for args in prepared:
                model.classify(*args)
        best = min(best, time.process_time() - start)
    return best / (passes * len(prepared)) * 1e6


def main() -> None:
    """Print the committed model's held-out and check-set figures and its scoring time."""
    argparse.ArgumentParser(description=__doc__).parse_args()
    model = SentimentModel.load()
    cut = tokenizer(model.vocabulary())
    _, held_out = corpus.split(corpus.corpus())
    check = corpus.check_set()
    print(evaluate(model, held_out, cut).report("held-out split"))
    print()
    print(evaluate(model, check, cut).report("out-of-domain check set"))
    print()
    print(f"scoring: {benchmark(model, check, cut):.1f} µs per post (check set, segmented)")


if __name__ == "__main__":
    main()
