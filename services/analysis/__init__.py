"""Analysis service: turns stored mentions into sentiment, watchlist matches, stories and tiers.

Owns (the only writer of) the tables `watchlist`, `sensitive_term`, `mention_analysis`,
`watchlist_hit`, `story`, `story_band`, `story_band_recent`, `risk_signal`, `drill` and the
rollups (`mention_rollup`, `author_day_rollup`, `author_rollup`, counted in the analyses'
transaction); it reads
`mention` and `author`, which ingest writes, and shares `mention_failure` with ingest's
reconciler (a mention that breaks the analyser is recorded there, and its row deleted once
it is analysed).
Consumes, on ANALYSIS_QUEUE (worker.py): `mention.ingested.v1`, a batch of stored mentions
that the pipeline (prepare → match → score sentiment → stories → influence → hits →
window → decide → rollups) analyses before re-deciding the tier of every watchlist they
matched; and the commands `watchlist.create.v1`, `watchlist.update.v1`,
`lexicon.set_terms.v1`, `drill.start.v1` and `drill.end.v1` (a drill is its own watchlist,
which only the drill's mentions reach; its score card reads the incidents tables), each
answered with a `CommandResult`.
Emits `risk.signal_raised.v1` (on INCIDENTS_QUEUE, through the outbox after commit) when a
watchlist's tier rises to one that opens an incident and `risk.tier_fell.v1` when it
falls, and live notices after commit: a mention notice for every mention analysed, a
signal notice for every tier change stored. The re-scoring sweep (`rescoring/`) re-decides
every tiered watchlist once a minute, so tiers fall when nobody posts.
`crisiswatch backtest` runs `backtest.run_backtest`, which only reads (READ ONLY transaction).
"""
