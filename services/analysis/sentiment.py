"""Lexicon-based sentiment for consumer posts: 积极 / 中立 / 消极 with a score in [-1, 1].

Works on jieba tokens. Each sentiment word carries a weight (lexicon/*.txt); a negation
(不, 没有, 别…) flips the next sentiment word of its clause and a degree word (非常, 太…)
scales it. Questions and enquiries (请问, 吗, ?) lean neutral, and after a contrast
(但是, 不过…) the second half counts more, as it carries the writer's conclusion.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from libs.contracts.enums import Sentiment


def _words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


NEGATIONS = _words(
    "不 没 没有 别 非 无 未 不是 并不 并没有 从不 从没 毫不 绝不 不太 不怎么 "
    "一点都不 一点也不 不算 谈不上"
)
DEGREES: dict[str, float] = {
    "非常": 2.0,
    "太": 1.8,
    "特别": 1.8,
    "超": 1.8,
    "超级": 2.0,
    "极其": 2.0,
    "极": 1.8,
    "十分": 1.8,
    "相当": 1.6,
    "巨": 1.8,
    "贼": 1.6,
    "最": 1.8,
    "很": 1.3,
    "挺": 1.2,
    "真": 1.3,
    "真的": 1.3,
    "好": 1.3,
    "实在": 1.5,
    "简直": 1.6,
    "严重": 1.8,
    "彻底": 1.8,
    "完全": 1.6,
    "越来越": 1.4,
    "更": 1.3,
    "比较": 1.1,
    "有点": 0.8,
    "有些": 0.8,
    "有一点": 0.7,
    "稍微": 0.6,
    "略": 0.6,
}
# Single characters that, glued to a sentiment word by jieba ("太坑", "不满意"), still act.
NEGATION_PREFIXES = ("不", "没", "别", "无", "未", "非")
DEGREE_PREFIXES: dict[str, float] = {
    "太": 1.8,
    "超": 1.8,
    "很": 1.3,
    "真": 1.3,
    "巨": 1.8,
    "最": 1.8,
}
QUESTION_CUES = _words(
    "? 吗 请问 咨询 想问 问下 问一下 求问 怎么 怎样 如何 哪里 哪儿 哪个 是否 能否 "
    "有没有 是不是 可不可以 能不能 几时 什么时候"
)
CONTRASTS = _words("但 但是 可是 不过 然而 只是 可惜")
CLAUSE_BREAKS = frozenset(",.;:!?~、，。；：！？…\n")

QUESTION_DAMPING = 0.4
BEFORE_CONTRAST = 0.5
# Denying a complaint ("不难吃", "没有异味") is faint praise, not praise.
NEGATED_NEGATIVE = 0.5
POLAR_THRESHOLD = 0.25
# Degree words are forgotten after this many tokens without a sentiment word.
SCOPE = 3


@dataclass(frozen=True)
class SentimentResult:
    """A label and a score in [-1, 1]; negative scores mean negative sentiment."""

    label: Sentiment
    score: float


def _read(name: str) -> dict[str, float]:
    words: dict[str, float] = {}
    text = resources.files("services.analysis").joinpath("lexicon", name).read_text("utf-8")
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        words[parts[0].casefold()] = float(parts[1]) if len(parts) > 1 else 1.0
    return words


@cache
def lexicon() -> dict[str, float]:
    """Return every sentiment word with its signed weight (negative words below zero)."""
    weights = dict(_read("positive.txt"))
    for word, weight in _read("negative.txt").items():
        weights[word] = -weight
    return weights


def vocabulary() -> frozenset[str]:
    """Return the multi-character words jieba should keep whole for this classifier."""
    words = set(lexicon()) | NEGATIONS | set(DEGREES) | QUESTION_CUES | CONTRASTS
    return frozenset(w for w in words if len(w) > 1)


def _weight(token: str) -> tuple[float, float]:
    """Return (signed weight, modifier carried by a glued prefix) of one token."""
    words = lexicon()
    if token in words:
        return words[token], 1.0
    stripped = token.removesuffix("了").removesuffix("的")
    if stripped != token and stripped in words:
        return words[stripped], 1.0
    head, rest = token[:1], token[1:]
    if rest in words:
        if head in NEGATION_PREFIXES:
            return words[rest], -1.0
        if head in DEGREE_PREFIXES:
            return words[rest], DEGREE_PREFIXES[head]
    return 0.0, 1.0


def score_tokens(tokens: Sequence[str]) -> float:
    """Return the raw (unbounded) sentiment sum of `tokens`."""
    words = lexicon()
    total = 0.0
    negated = False
    degree = 1.0
    # A degree word that is also a sentiment word ("好") counts on its own when nothing
    # follows it in scope ("质量好"), and only as a degree otherwise ("好坑").
    held = 0.0
    since_modifier = 0

    def release() -> float:
        return -held if negated else held

    for raw in tokens:
        token = raw.casefold().replace("\ufe0f", "")
        if not token:
            continue
        if all(c in CLAUSE_BREAKS for c in token) or token in CONTRASTS:
            total += release()
            if token in CONTRASTS:
                total *= BEFORE_CONTRAST
            negated, degree, held, since_modifier = False, 1.0, 0.0, 0
            continue
        if token in NEGATIONS:
            negated = not negated
            since_modifier = 0
            continue
        if token in DEGREES:
            degree *= DEGREES[token]
            held = words.get(token, 0.0)
            since_modifier = 0
            continue
        weight, modifier = _weight(token)
        if weight == 0.0:
            since_modifier += 1
            if since_modifier > SCOPE:
                total += release()
                negated, degree, held = False, 1.0, 0.0
            continue
        if modifier < 0:
            negated = not negated
        else:
            degree *= modifier
        value = weight * degree
        if negated:
            value = -value * (NEGATED_NEGATIVE if weight < 0 else 1.0)
        total += value
        negated, degree, held, since_modifier = False, 1.0, 0.0, 0
    return total + release()


def is_question(tokens: Sequence[str], text: str) -> bool:
    """Return whether the post reads as a question or an enquiry."""
    return "?" in text or "？" in text or any(t in QUESTION_CUES for t in tokens)


def classify(tokens: Sequence[str], text: str) -> SentimentResult:
    """Classify a post from its tokens (and its text, for punctuation and emoji)."""
    total = score_tokens(tokens)
    if is_question(tokens, text):
        total *= QUESTION_DAMPING
    score = round(math.tanh(total / 2.0), 4)
    if score >= POLAR_THRESHOLD:
        return SentimentResult(Sentiment.POSITIVE, score)
    if score <= -POLAR_THRESHOLD:
        return SentimentResult(Sentiment.NEGATIVE, score)
    return SentimentResult(Sentiment.NEUTRAL, score)
