"""Re-scoring: time passes when nobody posts, so tiers are re-decided on a schedule.

A watchlist is otherwise decided only when a mention of it arrives, so a crisis that goes
quiet would keep its tier forever. Every `RESCORE_INTERVAL_SECONDS` (default 60) one
analysis process of the cluster (a sweep under a Redis lease, `libs.messaging.sweep`)
re-decides every watchlist that holds a tier at `now`, and every one whose decision waited
for a backfill to settle and is now due (`pipeline.backfill`), each in its own unit of
work, through the same `pipeline.stages.read_window` / `decide_window` as a mention batch:
the same window, the same hysteresis, the same signals. A fall becomes `risk.tier_fell.v1`
and a rise `risk.signal_raised.v1` (a quiet window seldom rises, but a settled backfill
can make it), both through the outbox.
"""

from libs.messaging.sweep import SweepSpec
from services.analysis.rescoring.repository import due_watchlists
from services.analysis.rescoring.service import rescore_watchlist

RESCORING = SweepSpec("analysis-rescoring", due_watchlists, rescore_watchlist)
"""The sweep the analysis worker runs every `RESCORE_INTERVAL_SECONDS`."""
