"""What kind of crisis a post points to (seed 002 §一, seed 004 §二, seed 003 §2.1).

The kind decides who handles it and how much it weighs: a data leak or an unsafe product
hurts people and draws regulators, a clumsy ad mostly hurts pride. Each kind has cue
terms with weights (`data/crisis_cues.tsv`); a post's score for a kind is the noisy-or of
its counted cues, plus the post's sensitive categories where a category says what kind of
trouble it is (`CATEGORY_EVIDENCE`). Cues follow the lexicon's shadowing rule (see
`services.analysis.sensitive`): a cue inside a longer occurring cue or exclusion phrase does
not count, so 心态崩了 is no outage and 广告翻车 is one cue, not two.

A kind is chosen only when its score reaches `MIN_SCORE`, which no single generic cue
(客服, 退款, 售后, 文案) reaches alone. Equal scores go to the more severe kind, so a tie never
understates a crisis, then to the order of `CrisisType`.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from libs.contracts.enums import CrisisType, SensitiveCategory
from services.analysis.sensitive import (
    SensitiveResult,
    Shadows,
    noisy_or,
    read_exclusions,
    read_weighted_rows,
    validate_term,
    validate_weight,
)

CUES_FILE = "crisis_cues.tsv"
MIN_SCORE = 0.4
# How many cues a window's evidence names.
AGGREGATE_EVIDENCE = 5
# Scores closer than this are equal: noisy-or of the same weights in another order may
# differ in the last bits.
_PRECISION = 9

TYPE_SEVERITY: dict[CrisisType, float] = {
    CrisisType.PRODUCT_QUALITY: 0.9,
    CrisisType.DATA_LEAK: 0.85,
    CrisisType.BRAND_IMAGE: 0.7,
    CrisisType.MISINFORMATION: 0.55,
    CrisisType.CUSTOMER_SERVICE: 0.5,
    CrisisType.OPERATIONAL_ERROR: 0.45,
    CrisisType.INTERACTION_FAILURE: 0.4,
}

# Sensitive categories that say what kind of trouble a post is about, and how strongly.
# Legal terms (起诉, 律师函) follow every kind of crisis, so they weigh in the risk score
# but say nothing about the kind.
CATEGORY_EVIDENCE: dict[SensitiveCategory, tuple[CrisisType, float]] = {
    SensitiveCategory.DATA_LEAK: (CrisisType.DATA_LEAK, 1.0),
    SensitiveCategory.SAFETY: (CrisisType.PRODUCT_QUALITY, 0.8),
    SensitiveCategory.INJURY_DEATH: (CrisisType.PRODUCT_QUALITY, 0.5),
    SensitiveCategory.REGULATOR: (CrisisType.PRODUCT_QUALITY, 0.3),
    SensitiveCategory.RIGHTS: (CrisisType.CUSTOMER_SERVICE, 0.3),
}
SENSITIVE_PREFIX = "sensitive:"

_ORDER = {crisis_type: index for index, crisis_type in enumerate(CrisisType)}


@dataclass(frozen=True)
class CrisisCue:
    """A term that points to a kind of crisis, with how strongly."""

    term: str
    crisis_type: CrisisType
    weight: float


@dataclass(frozen=True)
class CrisisTypeResult:
    """The kind chosen for a post or a window, with the evidence that chose it."""

    crisis_type: CrisisType | None
    confidence: float
    evidence: tuple[str, ...]
    scores: dict[CrisisType, float]


NO_TYPE = CrisisTypeResult(crisis_type=None, confidence=0.0, evidence=(), scores={})


def _is_category(label: str) -> bool:
    """Cue terms name what people said; categories come after them in evidence."""
    return label.startswith(SENSITIVE_PREFIX)


def _ranked(scores: dict[CrisisType, float]) -> list[CrisisType]:
    return sorted(
        scores,
        key=lambda kind: (-round(scores[kind], _PRECISION), -TYPE_SEVERITY[kind], _ORDER[kind]),
    )


def _leader(scores: dict[CrisisType, float], minimum: float) -> tuple[CrisisType | None, float]:
    """Return the winning kind and its share against the runner-up (1 alone, 1/2 tied)."""
    ranked = _ranked(scores)
    if not ranked or round(scores[ranked[0]], _PRECISION) < minimum:
        return None, 0.0
    top = scores[ranked[0]]
    second = scores[ranked[1]] if len(ranked) > 1 else 0.0
    return ranked[0], top / (top + second)


class CrisisTypeClassifier:
    """Cue terms per crisis type; immutable, so one instance serves every post."""

    def __init__(self, cues: Iterable[CrisisCue], exclusions: Iterable[str] = ()) -> None:
        by_term: dict[str, dict[CrisisType, float]] = {}
        for cue in cues:
            kinds = by_term.setdefault(validate_term(cue.term), {})
            kinds[CrisisType(cue.crisis_type)] = validate_weight(cue.weight)
        # A zero weight switches a cue off for its kind, like an override in the lexicon.
        self._cues = {
            term: {kind: weight for kind, weight in kinds.items() if weight > 0.0}
            for term, kinds in by_term.items()
            if any(weight > 0.0 for weight in kinds.values())
        }
        self._shadows = Shadows(self._cues, (validate_term(p) for p in exclusions))

    @classmethod
    def default(cls) -> "CrisisTypeClassifier":
        """Return the shipped classifier (`data/crisis_cues.tsv`), loaded once per process."""
        return _default_classifier()

    def terms(self) -> frozenset[str]:
        """Return every phrase the shared `TermIndex` must find: cues and exclusions."""
        return frozenset(self._cues) | self._shadows.exclusions

    def cues(self) -> list[CrisisCue]:
        """Return the cues by type, heaviest first, then by term."""
        return sorted(
            (
                CrisisCue(term, kind, weight)
                for term, kinds in self._cues.items()
                for kind, weight in kinds.items()
            ),
            key=lambda cue: (_ORDER[cue.crisis_type], -cue.weight, cue.term),
        )

    def classify(
        self, hits: set[str], sensitive: SensitiveResult | None = None
    ) -> CrisisTypeResult:
        """Choose a post's kind from the terms its text contained and its sensitive result.

        Evidence lists the chosen kind's cue terms, heaviest first, then its categories.
        """
        evidence: dict[CrisisType, list[tuple[float, str]]] = {}
        present = hits & self._cues.keys()
        for term in self._shadows.counted(present, hits):
            for kind, weight in self._cues[term].items():
                evidence.setdefault(kind, []).append((weight, term))
        if sensitive is not None:
            for category, score in sensitive.categories.items():
                if category in CATEGORY_EVIDENCE:
                    kind, factor = CATEGORY_EVIDENCE[category]
                    label = SENSITIVE_PREFIX + category.value
                    evidence.setdefault(kind, []).append((score * factor, label))
        scores = {
            kind: noisy_or(weight for weight, _ in evidence[kind])
            for kind in CrisisType
            if kind in evidence
        }
        chosen, share = _leader(scores, MIN_SCORE)
        if chosen is None:
            return CrisisTypeResult(crisis_type=None, confidence=0.0, evidence=(), scores=scores)
        ordered = sorted(
            evidence[chosen], key=lambda item: (_is_category(item[1]), -item[0], item[1])
        )
        return CrisisTypeResult(
            crisis_type=chosen,
            confidence=scores[chosen] * share,
            evidence=tuple(label for _, label in ordered),
            scores=scores,
        )


def aggregate(results: Iterable[CrisisTypeResult]) -> CrisisTypeResult:
    """Choose a window's dominant kind from its mentions' results.

    Among the kinds at least one mention chose by itself, the one with the largest summed
    score wins. `scores` are the means over all mentions, so they stay in [0, 1];
    `confidence` is the kind's mean score over the mentions that carry it, times its share
    of the summed scores against the runner-up (among the chosen kinds); `evidence` counts,
    over the mentions that chose the kind, how many named each cue, cue terms before
    sensitive categories: ("异物×12", "召回×4", "sensitive:safety×15").
    """
    totals: dict[CrisisType, float] = {}
    carriers: Counter[CrisisType] = Counter()
    cues: dict[CrisisType, Counter[str]] = {}
    count = 0
    for result in results:
        count += 1
        for kind, score in result.scores.items():
            if score > 0.0:
                totals[kind] = totals.get(kind, 0.0) + score
                carriers[kind] += 1
        if result.crisis_type is not None:
            cues.setdefault(result.crisis_type, Counter()).update(set(result.evidence))
    if not count:
        return NO_TYPE
    scores = {kind: totals[kind] / count for kind in CrisisType if kind in totals}
    # Only a kind some mention chose by itself can lead a window: weak cues in many
    # unrelated posts (客服 in a compliment, 客服 in a question) do not add up to a crisis.
    chosen, share = _leader({kind: totals.get(kind, 0.0) for kind in cues}, MIN_SCORE)
    if chosen is None:
        return CrisisTypeResult(crisis_type=None, confidence=0.0, evidence=(), scores=scores)
    named = sorted(
        cues[chosen].items(), key=lambda item: (_is_category(item[0]), -item[1], item[0])
    )
    return CrisisTypeResult(
        crisis_type=chosen,
        confidence=totals[chosen] / max(1, carriers[chosen]) * share,
        evidence=tuple(f"{cue}×{times}" for cue, times in named[:AGGREGATE_EVIDENCE]),
        scores=scores,
    )


@cache
def _default_classifier() -> CrisisTypeClassifier:
    return CrisisTypeClassifier(
        (
            CrisisCue(term, kind, weight)
            for term, kind, weight in read_weighted_rows(CUES_FILE, CrisisType)
        ),
        read_exclusions(),
    )
