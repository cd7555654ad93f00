"""Per-mention analysis: text preparation, tokens, sentiment, rules, lexicon, crisis type, MinHash.

CPU-bound and free of I/O, so the pipeline runs each step over a whole batch in a thread
and keeps its event loop free for the database and Redis: `match` is its match stage,
`Analyzer.score` its sentiment stage, and `Analyzer.analyze` does both (with the MinHash
signature) for a backtest. Everything an organization configures
(watch rules, dictionary words, sensitive-term changes) is compiled once into a
`Profile` with ONE term automaton, cached while the configuration is unchanged.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from services.analysis import stories
from services.analysis.crisis_type import CrisisTypeClassifier, CrisisTypeResult
from services.analysis.rules import CompiledRules, RuleMatch, parse
from services.analysis.segmentation import Segmenter
from services.analysis.sensitive import SensitiveLexicon, SensitiveResult, TermOverride
from services.analysis.sentiment import SentimentModel, SentimentResult
from services.analysis.terms import TermIndex
from services.analysis.textprep import PreparedText, prepare


@dataclass(frozen=True)
class WatchlistSpec:
    """A watchlist as analysis needs it: its rule and its dictionary words."""

    id: uuid.UUID
    query: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrgConfig:
    """Everything an organization configured that analysis depends on; hashable for caching."""

    watchlists: tuple[WatchlistSpec, ...] = ()
    overrides: tuple[TermOverride, ...] = ()


@dataclass(frozen=True)
class Profile:
    """An organization's compiled rules, lexicon and the one automaton over all their terms."""

    rules: CompiledRules
    lexicon: SensitiveLexicon
    classifier: CrisisTypeClassifier
    index: TermIndex


@lru_cache(maxsize=256)
def compile_profile(config: OrgConfig) -> Profile:
    """Compile an organization's configuration; stored rules were validated when saved."""
    rules = CompiledRules((w.id, parse(w.query)) for w in config.watchlists if w.query)
    lexicon = SensitiveLexicon.default().with_overrides(config.overrides)
    classifier = CrisisTypeClassifier.default()
    keywords = {k for w in config.watchlists for k in w.keywords}
    index = TermIndex(rules.terms() | lexicon.terms() | classifier.terms() | keywords)
    return Profile(rules=rules, lexicon=lexicon, classifier=classifier, index=index)


@dataclass(frozen=True)
class MentionText:
    """The part of a stored mention analysis reads."""

    id: uuid.UUID
    text: str
    source: str


@dataclass(frozen=True)
class Matched:
    """What an organization's rules, lexicon and crisis cues found in one mention."""

    matches: list[RuleMatch]
    sensitive: SensitiveResult
    crisis: CrisisTypeResult

    @property
    def watchlist_ids(self) -> list[uuid.UUID]:
        """Return the watchlists whose rules matched."""
        return [m.rule_id for m in self.matches]

    @property
    def matched_terms(self) -> list[str]:
        """Return the rule terms that occurred, each once, in rule order."""
        return list(dict.fromkeys(t for m in self.matches for t in m.terms))


@dataclass(frozen=True)
class Scored:
    """One mention's tokens and the sentiment read from them."""

    tokens: list[str]
    sentiment: SentimentResult


@dataclass(frozen=True)
class Verdict:
    """What analysis concluded about one mention."""

    mention_id: uuid.UUID
    prepared: PreparedText
    scored: Scored
    matched: Matched
    signature: stories.Signature | None


def match(prepared: PreparedText, source: str, profile: Profile) -> Matched:
    """Find the organization's rule, lexicon and crisis-cue terms in one prepared mention."""
    hits = profile.index.hits(prepared.matching)
    sensitive = profile.lexicon.assess(hits)
    return Matched(
        matches=profile.rules.match(hits, source),
        sensitive=sensitive,
        crisis=profile.classifier.classify(hits, sensitive),
    )


class Analyzer:
    """The segmenter and sentiment model of one process, loaded once at worker start."""

    def __init__(
        self, segmenter: Segmenter | None = None, model: SentimentModel | None = None
    ) -> None:
        self.segmenter = segmenter or Segmenter()
        self._model = model

    @property
    def model(self) -> SentimentModel:
        """Return the sentiment model, loading it on first use."""
        if self._model is None:
            self._model = SentimentModel.load()
        return self._model

    def load(self) -> None:
        """Load the dictionary and the model, keeping the model's vocabulary whole."""
        self.segmenter.load(sorted(self.model.vocabulary()))

    def score(self, prepared: PreparedText, profile: Profile) -> Scored:
        """Segment one prepared mention, keeping the organization's terms whole, and classify it."""
        text = prepared.sentiment_text
        tokens = self.segmenter.cut(text, keep_whole=profile.index)
        return Scored(tokens=tokens, sentiment=self.model.classify(tokens, text, prepared.emoji))

    def analyze(self, mention: MentionText, profile: Profile) -> Verdict:
        """Analyse one mention's normalised text for its organization."""
        prepared = prepare(mention.text)
        return Verdict(
            mention_id=mention.id,
            prepared=prepared,
            scored=self.score(prepared, profile),
            matched=match(prepared, mention.source, profile),
            signature=stories.signature(prepared.matching),
        )

    def analyze_batch(self, mentions: Sequence[MentionText], profile: Profile) -> list[Verdict]:
        """Analyse a batch of one organization's mentions."""
        return [self.analyze(mention, profile) for mention in mentions]
