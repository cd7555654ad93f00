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

Rumour talk is the exception to "highest score wins". A rumour names its claim (网传…致癌,
听说…地沟油), so by the claim's cues alone it reads as the crisis it claims. Some
misinformation cues frame what follows as hearsay or a debunk (`RUMOUR_FRAMING`: 网传, 听说,
据说, 是真的吗, 谣言, 辟谣, 不实, 造谣 …); a post with such framing that says enough to be
typed at all is rumour talk, and every cue it has, the claim's included, counts for
MISINFORMATION: what the post proves is that the claim circulates, not that it happened.
Hearsay alone (听说, 是真的吗: 0.3) is below `MIN_SCORE`, so "你听说过禾岚吗" is no crisis;
with a claim, or with a second framing cue, it is. A window's kind is then decided by
mentions, so a window is MISINFORMATION when rumour talk is the larger part of its typed
mentions, and real complaints without framing stay what they are.
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

# Misinformation cues that frame a post as hearsay, a question about truth, or a debunk,
# rather than as a claim of its own. Misinformation cues that are claims themselves (数据造假,
# 虚假宣传, 夸大, p图, 水军) are not framing: "虚假宣传，用了烂脸" is a complaint about the
# product and its advertising, scored like any other post.
RUMOUR_FRAMING = frozenset(
    {
        "网传", "听说", "据说", "据传", "传闻", "传言", "谣传", "小道消息", "未经证实",
        "是真的吗", "真的假的", "谣言", "辟谣", "求辟谣", "造谣", "传谣", "不实", "不属实",
        "假新闻", "假消息", "虚假信息", "以讹传讹",
    }
)  # fmt: skip
# Words that contain a framing cue without framing anything: 根据说明书 holds 据说, 数据传输
# holds 据传, 不实用 and 华而不实 hold 不实, 宣传言论 holds 传言. They shadow the cue inside
# them, like the shared exclusion phrases.
FRAMING_LOOKALIKES = (
    *(f"{word}{cue}" for word in "根依数证票单" for cue in ("据说", "据传")),
    "不实用",
    "华而不实",
    "宣传言",
)

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

    def __init__(
        self,
        cues: Iterable[CrisisCue],
        exclusions: Iterable[str] = (),
        framing: Iterable[str] = (),
    ) -> None:
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
        self._framing = frozenset(validate_term(term) for term in framing)
        unknown = sorted(
            term
            for term in self._framing
            if CrisisType.MISINFORMATION not in self._cues.get(term, {})
        )
        if unknown:
            raise ValueError(f"framing terms must be misinformation cues: {', '.join(unknown)}")

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

    def framing(self) -> frozenset[str]:
        """Return the cues that mark a post as rumour talk (see the module docstring)."""
        return self._framing

    def classify(
        self, hits: set[str], sensitive: SensitiveResult | None = None
    ) -> CrisisTypeResult:
        """Choose a post's kind from the terms its text contained and its sensitive result.

        Evidence lists the chosen kind's cue terms, heaviest first, then its categories. For
        rumour talk the kind is MISINFORMATION and the evidence lists its framing and other
        misinformation cues first, then the claim's cues ("网传", "致癌", "sensitive:safety").
        """
        evidence: dict[CrisisType, list[tuple[float, str]]] = {}
        counted = self._shadows.counted(hits & self._cues.keys(), hits)
        for term in counted:
            for kind, weight in self._cues[term].items():
                evidence.setdefault(kind, []).append((weight, term))
        if sensitive is not None:
            for category, score in sensitive.categories.items():
                if category in CATEGORY_EVIDENCE:
                    kind, factor = CATEGORY_EVIDENCE[category]
                    label = SENSITIVE_PREFIX + category.value
                    evidence.setdefault(kind, []).append((score * factor, label))
        scores = _scores(evidence)
        chosen, share = _leader(scores, MIN_SCORE)
        if chosen is None:
            return CrisisTypeResult(crisis_type=None, confidence=0.0, evidence=(), scores=scores)
        rumour = CrisisType.MISINFORMATION
        framed = not self._framing.isdisjoint(counted)
        if framed:
            evidence = {rumour: _folded(evidence)}
            scores = _scores(evidence)
            chosen, share = rumour, 1.0
        own = {label for _, label in evidence[chosen] if rumour in self._cues.get(label, {})}
        ordered = sorted(
            evidence[chosen],
            key=lambda item: (_is_category(item[1]), item[1] not in own, -item[0], item[1]),
        )
        return CrisisTypeResult(
            crisis_type=chosen,
            confidence=scores[chosen] * share,
            evidence=tuple(label for _, label in ordered),
            scores=scores,
        )


def _scores(evidence: dict[CrisisType, list[tuple[float, str]]]) -> dict[CrisisType, float]:
    return {
        kind: noisy_or(weight for weight, _ in evidence[kind])
        for kind in CrisisType
        if kind in evidence
    }


def _folded(evidence: dict[CrisisType, list[tuple[float, str]]]) -> list[tuple[float, str]]:
    """Return every kind's evidence as one list, each label once at its largest weight.

    A cue listed for two kinds is one piece of evidence: counting it twice would make the
    rumour surer than the post is.
    """
    strongest: dict[str, float] = {}
    for items in evidence.values():
        for weight, label in items:
            strongest[label] = max(weight, strongest.get(label, 0.0))
    return [(weight, label) for label, weight in strongest.items()]


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
        [*read_exclusions(), *FRAMING_LOOKALIKES],
        RUMOUR_FRAMING,
    )
