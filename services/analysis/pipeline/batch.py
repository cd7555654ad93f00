"""The one object a `mention.ingested` batch is while it moves through the stages."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from libs.contracts.messages import RiskSignalRaised, RiskTierFell
from libs.database.tables import Watchlist
from services.analysis.analyzer import Analyzer, Matched, Profile, Scored
from services.analysis.repository.mentions import AuthoredMention
from services.analysis.stories import Signature
from services.analysis.textprep import PreparedText
from services.analysis.window import WindowStats


@dataclass(frozen=True)
class WatchlistWindow:
    """A locked watchlist whose tier is about to be decided, and its window now."""

    watchlist: Watchlist
    stats: WindowStats


@dataclass
class Batch:
    """A batch of one organization's mentions; each stage reads earlier parts and fills its own.

    Per-mention results are keyed by mention id; `mentions` keeps the batch's order
    (posting time, then id), and every stage walks it in that order.
    """

    organization_id: uuid.UUID
    mention_ids: Sequence[uuid.UUID]
    now: datetime
    analyzer: Analyzer
    # prepare: the mentions not analysed yet, the organization's compiled rules, their text.
    mentions: list[AuthoredMention] = field(default_factory=list)
    compiled: Profile | None = None
    drill_watchlists: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    prepared: dict[uuid.UUID, PreparedText] = field(default_factory=dict)
    # match and score sentiment.
    matched: dict[uuid.UUID, Matched] = field(default_factory=dict)
    scored: dict[uuid.UUID, Scored] = field(default_factory=dict)
    # stories: each mention's story (None when too short to group) and repost parent.
    signatures: dict[uuid.UUID, Signature | None] = field(default_factory=dict)
    story_of: dict[uuid.UUID, uuid.UUID | None] = field(default_factory=dict)
    parents: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    # influence of each mention's author for this post.
    influence: dict[uuid.UUID, float] = field(default_factory=dict)
    # hits: what this call stored (a concurrent delivery may have stored the rest).
    stored: list[AuthoredMention] = field(default_factory=list)
    # window and decide.
    windows: list[WatchlistWindow] = field(default_factory=list)
    raised: list[RiskSignalRaised] = field(default_factory=list)
    fell: list[RiskTierFell] = field(default_factory=list)
    # every stage: the seconds it took, by stage name (`pipeline.run`).
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def profile(self) -> Profile:
        """Return the organization's compiled rules and lexicon, loaded by the prepare stage."""
        if self.compiled is None:
            raise RuntimeError("the prepare stage has not loaded the organization's profile")
        return self.compiled

    def watchlist_ids(self) -> list[uuid.UUID]:
        """Return the watchlists the stored mentions matched, in id order."""
        return sorted({w for m in self.stored for w in self.matched[m.id].watchlist_ids})
