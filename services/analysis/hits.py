"""What a watchlist hit records: built alike by the live pipeline and by a backtest.

A `watchlist_hit` row carries everything the window statistics read about one matched
mention, so a tier decision never joins mentions, analyses and authors. A backtest builds
the same rows in memory, so its windows hold exactly what the live ones would have.
"""

import uuid

from services.analysis.analyzer import Matched
from services.analysis.repository.mentions import AuthoredMention
from services.analysis.repository.rows import HitRow


def hit_row(
    mention: AuthoredMention,
    watchlist_id: uuid.UUID,
    organization_id: uuid.UUID,
    *,
    matched: Matched,
    sentiment: str,
    influence: float,
    story_id: uuid.UUID | None,
) -> HitRow:
    """Return the hit of `mention` for one watchlist its rule matched."""
    return HitRow(
        watchlist_id=watchlist_id,
        posted_at=mention.posted_at,
        mention_id=mention.id,
        organization_id=organization_id,
        author_id=mention.author_id,
        author_handle=mention.handle,
        author_kind=mention.kind,
        followers=mention.followers,
        views=mention.views,
        influence=influence,
        sentiment=sentiment,
        sensitive_score=matched.sensitive.score,
        sensitive_terms=[h.term for h in matched.sensitive.hits],
        crisis_type=matched.crisis.crisis_type.value if matched.crisis.crisis_type else None,
        crisis_evidence=list(matched.crisis.evidence),
        story_id=story_id,
        source=mention.source,
    )
