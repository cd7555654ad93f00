"""Positive / neutral / negative sentiment of a post (积极 / 中立 / 消极) with probabilities.

A logistic regression over words, word bigrams, character bigrams and a few hand-kept cues
(lexicon, negation, degree, sarcasm, emoji, questions, rumour talk and debunks), trained
offline by `python -m services.analysis.sentiment.train` and scored here without
scikit-learn.
"""

from collections.abc import Sequence
from functools import cache

from services.analysis.sentiment.model import SentimentModel, SentimentResult

__all__ = ["SentimentModel", "SentimentResult", "classify", "default_model", "vocabulary"]


@cache
def default_model() -> SentimentModel:
    """Return the committed model, loaded once per process."""
    return SentimentModel.load()


def vocabulary() -> frozenset[str]:
    """Return the words the segmenter must keep whole (the committed model's)."""
    return default_model().vocabulary()


def classify(tokens: Sequence[str], text: str, emoji: Sequence[str] = ()) -> SentimentResult:
    """Classify one post with the committed model."""
    return default_model().classify(tokens, text, emoji)
