"""Per-mention analysis: tokens, sentiment and watchlist matches for a batch of posts.

CPU-bound and free of I/O, so the worker runs a whole batch in a thread and keeps its
event loop free for the database and Redis.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from services.analysis import sentiment
from services.analysis.matching import Match, WatchlistRule, matcher_for
from services.analysis.segmentation import Segmenter


@dataclass(frozen=True)
class Verdict:
    """What analysis concluded about one mention."""

    mention_id: uuid.UUID
    tokens: list[str]
    sentiment: sentiment.SentimentResult
    match: Match


class Analyzer:
    """Segmenter, sentiment lexicon and matchers of one process."""

    def __init__(self, segmenter: Segmenter | None = None) -> None:
        self.segmenter = segmenter or Segmenter()

    def load(self) -> None:
        """Load jieba's dictionary and the words the sentiment lexicon needs kept whole."""
        self.segmenter.load(sorted(sentiment.vocabulary()))

    def analyze(self, mention_id: uuid.UUID, text: str, rules: Sequence[WatchlistRule]) -> Verdict:
        """Analyse one normalised text against the organization's watchlists."""
        return self.analyze_batch([(mention_id, text)], rules)[0]

    def analyze_batch(
        self, mentions: Sequence[tuple[uuid.UUID, str]], rules: Sequence[WatchlistRule]
    ) -> list[Verdict]:
        """Analyse normalised texts; watchlist keywords are added to the dictionary first."""
        self.segmenter.add_words(k.strip() for rule in rules for k in rule.keywords)
        matcher = matcher_for(tuple(rules))
        verdicts = []
        for mention_id, text in mentions:
            tokens = self.segmenter.cut(text)
            verdicts.append(
                Verdict(
                    mention_id=mention_id,
                    tokens=tokens,
                    sentiment=sentiment.classify(tokens, text),
                    match=matcher.match(text),
                )
            )
        return verdicts
