"""When a failed delivery is tried again, when it is given up, and when an endpoint is.

The delays grow roughly exponentially and are capped at 20 hours, so a receiver that is down
for a weekend still gets everything once it is back: ten attempts over 71 h 35 min (about
three days). An endpoint is disabled when every delivery to it has failed for 24 hours and at
least five attempts failed in that time, so one bad night does not switch off a receiver that
is merely slow to come back, and a single failed attempt never counts as "sustained".
"""

from datetime import datetime, timedelta

RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=20),
)
"""The wait after the 1st, 2nd, … failed attempt; the first attempt is made at once."""

MAX_ATTEMPTS = len(RETRY_DELAYS) + 1

DISABLE_AFTER = timedelta(hours=24)
"""How long every delivery to an endpoint must have failed before it is disabled…"""

DISABLE_AFTER_FAILURES = 5
"""…and how many failed attempts that period must hold at least."""


def next_attempt_at(attempts_made: int, now: datetime) -> datetime | None:
    """Return when to try again after `attempts_made` failed attempts, or None to give up."""
    if attempts_made < 1 or attempts_made > len(RETRY_DELAYS):
        return None
    return now + RETRY_DELAYS[attempts_made - 1]


def should_disable(failing_since: datetime | None, failed_attempts: int, now: datetime) -> bool:
    """Return whether an endpoint failing since `failing_since` has failed long enough."""
    if failing_since is None:
        return False
    return now - failing_since >= DISABLE_AFTER and failed_attempts >= DISABLE_AFTER_FAILURES
