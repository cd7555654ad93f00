"""Analysis service: turns stored mentions into sentiment, watchlist matches and risk tiers.

Owns the `watchlist`, `mention_analysis` and `risk_signal` tables.
Consumes, on ANALYSIS_QUEUE: `MentionIngested` (segment with jieba, classify sentiment,
match watchlist keywords, then score each matched watchlist's risk over a sliding window)
and the `CreateWatchlist` command.
Emits, on INCIDENTS_QUEUE: `RiskSignalRaised` when a watchlist's tier rises to yellow or above.
"""
