"""Fair scheduling: one organization's backlog does not delay another organization's crisis.

Each service consumes one arq queue, a Redis sorted set that workers read lowest score
first; arq scores a job with the time it was queued, so the queue is first in, first out,
and fifty batches of a thousand mentions from one organization delay another's one batch by
all of that work. Every message names its organization, so each job is placed instead as in
start-time fair queueing: each organization has a clock in Redis, the virtual time at which
its next job may start, and a job's score is the later of that clock and the queue's head
(the oldest job due, normally the one being worked on); the clock then moves on by the
job's estimated cost. An organization that queues a backlog finds its clock ahead of the
head, so its jobs spread out; another that queues one job starts at the head, behind at
most the jobs being worked on. Between organizations with backlogs, jobs interleave by
estimated cost, whatever their number and size.

Scores stay in arq's terms: an empty queue starts a clock `WINDOW` in the past, and no score
is ever later than now, so a placed job is always due (no worker idles while jobs wait)
and, after an organization has `WINDOW` of estimated work queued, its further jobs wait in
the order they came, still behind every organization with less queued. A job's place is
set after arq has queued it (`ZADD XX`), in one script with the clock, so a job is never
lost or held back by its placing: if placing fails, the job keeps arq's place, first in,
first out. Retries (`Retry(defer=...)`) are placed by arq at now plus their back-off, behind
what is queued.

A worker reads the queue again whenever it has a free slot (arq starts jobs from a read
until its slots are full and drops the rest), so a job placed ahead of others is taken by
the next slot that frees.

`FAIR_SCHEDULING=false` (read once per process) turns the placing off: first in, first out.
arq's log line for a started job (`12.34s → …`) counts from the job's place, so a job placed
in the past shows a wait longer than it was queued.
"""

import logging
import time
from collections.abc import Mapping
from datetime import timedelta

from arq.constants import in_progress_key_prefix
from redis.asyncio import Redis
from redis.exceptions import RedisError

from libs.messaging.failures import is_transient
from libs.settings import get_settings

log = logging.getLogger(__name__)

# How far in the past an idle organization's clock starts: the estimated work an organization
# may have queued before its further jobs wait in arrival order.
WINDOW = timedelta(minutes=5)
# The estimated cost of a job: a fixed part and one per mention it carries. Only the ratio
# between jobs orders organizations; the absolute scale decides when WINDOW is reached. One
# analysis worker takes about 1 ms per mention (docs/performance.md).
JOB_COST_MS = 5
MENTION_COST_MS = 1
CLOCK_PREFIX = "crisiswatch:fair"

# KEYS: the queue, the organization's clock. ARGV: the job id, now (ms), WINDOW (ms), cost (ms).
# Returns the job's new score, or nil when the job is no longer queued.
_PLACE = """
local queue, clock, running = KEYS[1], KEYS[2], KEYS[3]
local job, now = ARGV[1], tonumber(ARGV[2])
local window, cost = tonumber(ARGV[3]), tonumber(ARGV[4])
local queued = redis.call('ZSCORE', queue, job)
-- Only a job still waiting, and due now, is placed: one a worker took in the meantime, or
-- one already deferred (a retry's back-off), keeps what arq gave it.
if not queued or redis.call('EXISTS', running) == 1 or tonumber(queued) > now then
  return nil
end
local start = now - window
local head = redis.call('ZRANGEBYSCORE', queue, '-inf', now, 'WITHSCORES', 'LIMIT', 0, 2)
for i = 1, #head, 2 do
  if head[i] ~= job then
    start = tonumber(head[i + 1])
    break
  end
end
local due = tonumber(redis.call('GET', clock) or '0')
if due > start then
  start = due
end
if start > now then
  start = now
end
redis.call('SET', clock, tostring(start + cost), 'PX', 2 * window)
redis.call('ZADD', queue, 'XX', start, job)
return tostring(start)
"""


def enabled() -> bool:
    """Whether this process places jobs fairly (`FAIR_SCHEDULING`, on unless set false)."""
    return get_settings().fair_scheduling


def cost_ms(payload: Mapping[str, object]) -> int:
    """Estimate a job's cost from its payload: a fixed part, and one per mention it carries."""
    mentions = payload.get("mention_ids")
    return JOB_COST_MS + MENTION_COST_MS * (len(mentions) if isinstance(mentions, list) else 0)


async def place(
    redis: Redis, queue: str, job_id: str, payload: Mapping[str, object]
) -> float | None:
    """Move a queued job to its organization's fair place; return its score (None: not moved).

    Placing is best effort over a job already queued: when Redis fails here the job keeps
    the place arq gave it, and the failure is logged, not raised.
    """
    organization = payload.get("organization_id")
    if not isinstance(organization, str) or not enabled():
        return None
    script = redis.register_script(_PLACE)
    try:
        score = await script(
            keys=[
                queue,
                f"{CLOCK_PREFIX}:{queue}:{organization}",
                in_progress_key_prefix + job_id,
            ],
            args=[
                job_id,
                # Rounded as arq rounds the score it queued the job with: floored, a job queued
                # in the same millisecond could look later than now and keep its FIFO place.
                round(time.time() * 1000),
                int(WINDOW.total_seconds() * 1000),
                cost_ms(payload),
            ],
        )
    except Exception as exc:
        if not (is_transient(exc) or isinstance(exc, RedisError)):
            raise
        log.warning("job %s keeps its first-in place: placing it failed (%s)", job_id, exc)
        return None
    return float(score) if score is not None else None
