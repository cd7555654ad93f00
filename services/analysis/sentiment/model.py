"""Score posts with the committed sentiment weights: one dict lookup per feature.

The weights are a multinomial logistic regression trained offline (see `train`), with the
calibration temperature already folded in, so scoring needs neither scikit-learn nor any
download: load the JSON once at worker start and classify every mention with it.
"""

import heapq
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from libs.contracts.enums import Sentiment
from services.analysis.sentiment import cues
from services.analysis.sentiment.features import DENSE, Features, describe, extract

MODEL_FILE = "model.json"
CLASSES = (Sentiment.POSITIVE, Sentiment.NEUTRAL, Sentiment.NEGATIVE)
EVIDENCE = 5


@dataclass(frozen=True)
class SentimentResult:
    """A label, its probability, every class's probability and the evidence for it."""

    label: Sentiment
    probability: float
    probabilities: dict[str, float]
    evidence: tuple[str, ...]

    @property
    def score(self) -> float:
        """Return p(positive) - p(negative), in [-1, 1]."""
        return (
            self.probabilities[Sentiment.POSITIVE.value]
            - self.probabilities[Sentiment.NEGATIVE.value]
        )


_EMPTY = SentimentResult(
    Sentiment.NEUTRAL,
    1.0,
    {Sentiment.POSITIVE.value: 0.0, Sentiment.NEUTRAL.value: 1.0, Sentiment.NEGATIVE.value: 0.0},
    (),
)


def default_path() -> Path:
    """Return the committed model file inside the package."""
    return Path(str(resources.files("services.analysis.sentiment").joinpath(MODEL_FILE)))


Weights = tuple[float, float, float]
# A feature's three weights, then how far each raises its class above the three's mean.
Row = tuple[float, float, float, float, float, float]


class SentimentModel:
    """Weights per feature for (positive, neutral, negative) plus a bias per class.

    Plain dicts and tuples rather than NumPy: a post has about a hundred features, too few
    for array calls to pay for their overhead.
    """

    def __init__(self, weights: dict[str, Weights], bias: Sequence[float]) -> None:
        if len(bias) != len(CLASSES):
            raise ValueError(f"{len(bias)} biases for {len(CLASSES)} classes")
        self._weights: dict[str, Row] = {name: _row(w) for name, w in weights.items()}
        self._bias = (float(bias[0]), float(bias[1]), float(bias[2]))
        self._dense = [(name, self._weights[name]) for name in DENSE if name in weights]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SentimentModel":
        """Build a model from the exported JSON structure."""
        if [Sentiment(c) for c in data["classes"]] != list(CLASSES):
            raise ValueError(f"unexpected classes {data['classes']}")
        weights: dict[str, Weights] = {}
        for name, row in data["features"].items():
            if len(row) != len(CLASSES):
                raise ValueError(f"feature {name!r} has {len(row)} weights")
            weights[name] = (float(row[0]), float(row[1]), float(row[2]))
        return cls(weights, data["bias"])

    @classmethod
    def load(cls, path: Path | None = None) -> "SentimentModel":
        """Load the weights from `path`, by default the committed model file."""
        return cls.from_dict(json.loads((path or default_path()).read_text("utf-8")))

    def vocabulary(self) -> frozenset[str]:
        """Return multi-character words the segmenter must keep whole."""
        return cues.vocabulary()

    def weight(self, feature: str) -> Weights | None:
        """Return the (positive, neutral, negative) weights of one feature, if it has any."""
        row = self._weights.get(feature)
        return None if row is None else (row[0], row[1], row[2])

    def classify(
        self, tokens: Sequence[str], text: str, emoji: Sequence[str] = ()
    ) -> SentimentResult:
        """Classify one post from its tokens, its own words and the emoji removed from it."""
        if not text.strip() and not emoji:
            return _EMPTY
        features = extract(tokens, text, emoji)
        table = self._weights
        hits: list[tuple[str, Row]] = []
        p = u = n = 0.0
        for name in features.sparse:
            w = table.get(name)
            if w is not None:
                p += w[0]
                u += w[1]
                n += w[2]
                hits.append((name, w))
        scale = features.sparse_value
        p, u, n = p * scale, u * scale, n * scale
        dense: list[tuple[str, float, Row]] = []
        for name, w in self._dense:
            value = features.dense[name]
            if value:
                p += value * w[0]
                u += value * w[1]
                n += value * w[2]
                dense.append((name, value, w))
        logits = (p + self._bias[0], u + self._bias[1], n + self._bias[2])
        top = max(range(3), key=logits.__getitem__)
        exps = [math.exp(x - logits[top]) for x in logits]
        total = exps[0] + exps[1] + exps[2]
        return SentimentResult(
            label=CLASSES[top],
            probability=exps[top] / total,
            probabilities={
                Sentiment.POSITIVE.value: exps[0] / total,
                Sentiment.NEUTRAL.value: exps[1] / total,
                Sentiment.NEGATIVE.value: exps[2] / total,
            },
            evidence=_evidence(features, hits, scale, dense, top),
        )


def _row(w: Weights) -> Row:
    mean = (w[0] + w[1] + w[2]) / 3
    return (w[0], w[1], w[2], w[0] - mean, w[1] - mean, w[2] - mean)


def _evidence(
    features: Features,
    hits: list[tuple[str, Row]],
    scale: float,
    dense: list[tuple[str, float, Row]],
    top: int,
) -> tuple[str, ...]:
    """Return the features that lifted the label's logit furthest above the classes' mean."""
    # Sparse features share one value, so their ranking needs no multiplication.
    column = top + 3
    best = heapq.nlargest(EVIDENCE, [(w[column], name) for name, w in hits])
    ranked = [(scale * lift, name) for lift, name in best]
    ranked += [(value * w[column], name) for name, value, w in dense]
    out: list[str] = []
    for lift, name in sorted(ranked, reverse=True):
        if lift <= 0 or len(out) == EVIDENCE:
            break
        readable = describe(name, features)
        if readable not in out:
            out.append(readable)
    return tuple(out)
