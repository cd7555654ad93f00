"""Turn one post into the features the sentiment model weighs; shared by training and scoring.

Three sparse families generalise across domains differently: words (with a negation mark
on the words a negation governs, so "不 满意" and "满意" pull apart), word bigrams (short
phrases), and character bigrams (robust when the segmenter cuts a new word differently).
Their values are scaled by 1/sqrt(count) so a one-line post and a long review weigh
alike. A few dense features carry the hand-kept cues (lexicon with degree and negation,
emoji, sarcasm, question and exclamation marks) that product reviews teach poorly.
"""

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from services.analysis.sentiment.cues import (
    BEFORE_CONTRAST,
    CLAUSE_BREAKS,
    CONTRASTS,
    DEBUNK_CUES,
    DEGREE_PREFIXES,
    DEGREES,
    NEGATED_NEGATIVE,
    NEGATION_PREFIXES,
    NEGATIONS,
    QUESTION_CUES,
    QUOTES,
    RUMOUR_CUES,
    SARCASM_MARKERS,
    emoji_weights,
    lexicon,
)

WORD, NEGATED, BIGRAM, CHAR = "w:", "w:!", "b:", "c:"
LEX_POSITIVE, LEX_NEGATIVE, NO_LEXICON = "lex+", "lex-", "lex0"
QUESTION, EXCLAMATION, SARCASM = "?", "!", "sarcasm"
RUMOUR, DEBUNK, ASKED_NEGATIVE = "rumour", "debunk", "?lex-"
DENSE = (
    LEX_POSITIVE,
    LEX_NEGATIVE,
    NO_LEXICON,
    QUESTION,
    EXCLAMATION,
    SARCASM,
    RUMOUR,
    DEBUNK,
    ASKED_NEGATIVE,
)

# A negation governs this many following content words (degree words do not count).
NEGATION_SCOPE = 2
SARCASTIC_EMOJI = frozenset(["微笑", "呵呵", "允悲", "白眼", "翻白眼", "doge", "🙃", "🤡"])
# Markers never become character features either: reviews taught them the wrong sign.
_MARKER_BIGRAMS = frozenset(m for m in SARCASM_MARKERS if len(m) == 2)
_RUNS = re.compile(r"\w+")
_QUOTED = re.compile(f"[{re.escape(QUOTES)}](\\w{{1,4}})[{re.escape(QUOTES)}]")
_DIGITS = str.maketrans("123456789", "000000000")


@dataclass(frozen=True)
class Features:
    """The sparse feature names of a post, its dense feature values, and its cue words."""

    sparse: frozenset[str]
    dense: dict[str, float]
    positive_cues: tuple[str, ...]
    negative_cues: tuple[str, ...]

    @property
    def sparse_value(self) -> float:
        """Return the value every sparse feature takes (they share one L2 norm)."""
        return 1.0 / math.sqrt(len(self.sparse)) if self.sparse else 0.0

    def as_dict(self) -> dict[str, float]:
        """Return every feature with its value, as training vectorises it."""
        value = self.sparse_value
        out = dict.fromkeys(sorted(self.sparse), value)
        out.update(self.dense)
        return out


def _is_break(token: str) -> bool:
    # The segmenter never glues punctuation to a word, so the first character decides.
    return token[0] in CLAUSE_BREAKS or not token[0].isalnum()


# Degree words by first character, longest first, to find one glued to a sentiment word.
_DEGREE_HEADS: dict[str, list[tuple[str, float]]] = {}
for _word, _factor in sorted({**DEGREES, **DEGREE_PREFIXES}.items(), key=lambda d: -len(d[0])):
    _DEGREE_HEADS.setdefault(_word[0], []).append((_word, _factor))


def _sentiment(token: str, words: dict[str, float]) -> tuple[float, float, str]:
    """Return (signed weight, modifier of a glued prefix, stem) of one token.

    A glued degree word ("太失望", "非常满意") scales the word it modifies, even when the
    lexicon lists the whole, so every intensified form counts more than the plain word.
    """
    stem = token.removesuffix("了").removesuffix("的")
    for candidate in (token, stem) if stem and stem != token else (token,):
        whole = words.get(candidate)
        for degree, factor in _DEGREE_HEADS.get(candidate[0], ()):
            rest = candidate[len(degree) :]
            if rest and candidate.startswith(degree) and rest in words:
                # The lexicon may rate the whole higher ("很好" over 好 × 很): keep the larger.
                if whole is not None and abs(whole) >= abs(words[rest]) * factor:
                    return whole, 1.0, rest
                return words[rest], factor, rest
        if whole is not None:
            return whole, 1.0, candidate
        head, rest = candidate[:1], candidate[1:]
        if head in NEGATION_PREFIXES and rest in words:
            return words[rest], -1.0, rest
    return 0.0, 1.0, token


def is_sarcastic(tokens: Sequence[str], text: str, emoji: Sequence[str]) -> bool:
    """Return whether the post carries a marker that turns its praise into mockery.

    Markers are matched as whole tokens (the segmenter keeps them whole), so "服了" does
    not fire inside "舒服了".
    """
    if any(t in SARCASM_MARKERS for t in tokens):
        return True
    if any(e.strip("[]").casefold() in SARCASTIC_EMOJI for e in emoji):
        return True
    words = lexicon()
    return any(words.get(quoted, 0.0) > 0 for quoted in _QUOTED.findall(text))


def extract(tokens: Sequence[str], text: str, emoji: Sequence[str] = ()) -> Features:
    """Return the features of a post from its tokens, its text and its removed emoji."""
    words = lexicon()
    text = text.casefold()
    sarcastic = is_sarcastic(tokens, text, emoji)
    sparse: set[str] = set()
    positive = negative = 0.0
    positive_cues: list[str] = []
    negative_cues: list[str] = []
    question = exclamation = 0.0
    negated = False
    degree = 1.0
    scope = 0
    previous = ""
    for raw in tokens:
        token = raw.casefold().strip()
        if not token:
            continue
        if _is_break(token):
            if "?" in token or "？" in token:
                question = 1.0
            if "!" in token or "！" in token:
                exclamation = 1.0
            negated, degree, scope, previous = False, 1.0, 0, ""
            continue
        if token in SARCASM_MARKERS:
            previous = ""
            continue
        if token in QUESTION_CUES:
            question = 1.0
        if previous:
            sparse.add(BIGRAM + previous + "|" + token)
        previous = token
        if token in CONTRASTS:
            positive *= BEFORE_CONTRAST
            negative *= BEFORE_CONTRAST
            sparse.add(WORD + token)
            negated, degree, scope = False, 1.0, 0
            continue
        if token in NEGATIONS:
            # Reviews tie a bare 不/没 to complaints; the words it governs carry the sign.
            negated, scope = not negated, NEGATION_SCOPE
            continue
        if token in DEGREES:
            sparse.add(WORD + token)
            degree *= DEGREES[token]
            scope = max(scope, 1)
            continue
        weight, modifier, stem = _sentiment(token, words)
        flipped = negated != (modifier < 0)
        if sarcastic and weight > 0:
            flipped = not flipped
        # The stem carries the effective polarity: scope and glued negation, and irony.
        if stem == token:
            sparse.add((NEGATED if flipped else WORD) + token)
        else:
            sparse.add((NEGATED if negated else WORD) + token)
            sparse.add((NEGATED if flipped else WORD) + stem)
        if weight:
            value = abs(weight) * degree * (modifier if modifier > 0 else 1.0)
            if (weight > 0) != flipped:
                positive += value * (NEGATED_NEGATIVE if weight < 0 else 1.0)
                positive_cues.append(token)
            else:
                negative += value
                negative_cues.append(token)
            negated, degree, scope = False, 1.0, 0
            continue
        scope -= 1
        if scope <= 0:
            negated, degree = False, 1.0
    table = emoji_weights()
    for code in emoji:
        key = code.strip("[]").casefold()
        weight = table.get(key, 0.0)
        if weight > 0 and not sarcastic:
            positive += weight
            positive_cues.append(code)
        elif weight:
            negative += abs(weight)
            negative_cues.append(code)
    if sarcastic:
        negative += 1.0
        negative_cues.append("sarcasm")
    if "?" in text or "？" in text:
        question = 1.0
    if "!" in text or "！" in text:
        exclamation = 1.0
    for run in _RUNS.findall(text.translate(_DIGITS)):
        for i in range(len(run) - 1):
            pair = run[i : i + 2]
            if pair not in _MARKER_BIGRAMS:
                sparse.add(CHAR + pair)
    dense = {
        LEX_POSITIVE: math.log1p(positive),
        LEX_NEGATIVE: math.log1p(negative),
        NO_LEXICON: 0.0 if positive or negative else 1.0,
        QUESTION: question,
        EXCLAMATION: exclamation,
        SARCASM: 1.0 if sarcastic else 0.0,
        RUMOUR: 1.0 if any(cue in text for cue in RUMOUR_CUES) else 0.0,
        DEBUNK: 1.0 if any(cue in text for cue in DEBUNK_CUES) else 0.0,
        # A complaint word inside a question ("网传…致癌，是真的吗？") often asks rather
        # than accuses; this lets training decide how much a question tempers it.
        ASKED_NEGATIVE: math.log1p(negative) * question,
    }
    return Features(frozenset(sparse), dense, tuple(positive_cues), tuple(negative_cues))


_READABLE = {
    NO_LEXICON: "no sentiment words",
    QUESTION: "question",
    EXCLAMATION: "exclamation",
    SARCASM: "sarcasm marker",
    RUMOUR: "rumour talk",
    DEBUNK: "debunk",
    ASKED_NEGATIVE: "complaint words in a question",
}


def describe(feature: str, features: Features) -> str:
    """Return a person-readable name of one feature, as evidence for a verdict."""
    if feature == LEX_POSITIVE:
        return "positive words: " + "、".join(dict.fromkeys(features.positive_cues))
    if feature == LEX_NEGATIVE:
        return "negative words: " + "、".join(dict.fromkeys(features.negative_cues))
    if feature in _READABLE:
        return _READABLE[feature]
    if feature.startswith(NEGATED):
        return "negated " + feature.removeprefix(NEGATED)
    if feature.startswith(BIGRAM):
        return feature.removeprefix(BIGRAM).replace("|", " ")
    return feature[2:]
