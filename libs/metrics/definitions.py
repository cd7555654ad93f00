"""Every metric crisiswatch exports, in one place, so names and labels cannot drift apart.

Names follow Prometheus conventions (`_total` for counters, base units in the name); the
dashboards, alert rules and autoscalers read exactly these. Label values are bounded: route
templates, job names, tiers, outcomes, schema field names; never ids or client strings.

Gauges describe the cluster, computed alike by every worker that samples them, so with
`PROMETHEUS_MULTIPROC_DIR` they report the most recent live value rather than a sum; the
open subscriptions of a gateway's processes add up.
"""

from typing import Final, Literal

from prometheus_client import Counter, Gauge, Histogram

# Seconds from a millisecond job to a minute-long batch.
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Lag from accepted to analysed: sub-second normally, minutes behind a backlog, hours in an outage.
LAG_SECONDS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0)
# Mentions per message: one pushed post up to the 1000 of a full batch.
MENTIONS = (1, 5, 10, 25, 50, 100, 250, 500, 1000)

CLUSTER: Final[Literal["livemostrecent"]] = "livemostrecent"

# ingest
INGEST_REQUESTS = Counter(
    "crisiswatch_ingest_requests",
    "HTTP requests ingest answered, by route template and status code.",
    ["route", "status"],
)
INGEST_ITEMS = Counter(
    "crisiswatch_ingest_items",
    "Mentions pushed to ingest and committed, by outcome (accepted, duplicate, rejected).",
    ["outcome"],
)
INGEST_BATCH_SECONDS = Histogram(
    "crisiswatch_ingest_batch_seconds",
    "Seconds to validate, store and commit one pushed batch of mentions.",
    buckets=SECONDS,
)

# analysis
ANALYSIS_BATCH_SIZE = Histogram(
    "crisiswatch_analysis_batch_size",
    "Mentions in each message analysis handled.",
    buckets=MENTIONS,
)
ANALYSIS_BATCH_SECONDS = Histogram(
    "crisiswatch_analysis_batch_seconds",
    "Seconds analysis spent on one message's mentions, before its commit.",
    buckets=SECONDS,
)
ANALYSIS_STAGE_SECONDS = Histogram(
    "crisiswatch_analysis_stage_seconds",
    "Seconds each pipeline stage spent on one message's mentions, by stage, before its commit.",
    ["stage"],
    buckets=SECONDS,
)
ANALYSIS_LAG_SECONDS = Histogram(
    "crisiswatch_analysis_lag_seconds",
    "Seconds from a mention accepted by ingest to its analysis committed.",
    buckets=LAG_SECONDS,
)
RISK_SIGNALS = Counter(
    "crisiswatch_risk_signals",
    "Risk signals stored (tier changes of a watchlist), by the tier reached.",
    ["tier"],
)

# incidents
INCIDENTS_OPEN = Gauge(
    "crisiswatch_incidents_open",
    "Incidents not yet resolved, closed, merged or dismissed, by tier.",
    ["tier"],
    multiprocess_mode=CLUSTER,
)
TASKS_OVERDUE = Gauge(
    "crisiswatch_tasks_overdue",
    "Response tasks of open incidents past their deadline and not done.",
    multiprocess_mode=CLUSTER,
)
COMMANDS = Counter(
    "crisiswatch_commands",
    "Commands a worker applied, by command and outcome (ok, or the error code answered).",
    ["command", "outcome"],
)

# notify
WEBHOOK_DELIVERIES = Counter(
    "crisiswatch_webhook_deliveries",
    "Webhook and chat delivery attempts, by outcome (succeeded, retrying, failed, gone).",
    ["outcome"],
)
WEBHOOK_DELIVERIES_PENDING = Gauge(
    "crisiswatch_webhook_deliveries_pending",
    "Deliveries waiting for their first or next attempt.",
    multiprocess_mode=CLUSTER,
)

# gateway
GRAPHQL_OPERATIONS = Counter(
    "crisiswatch_graphql_operations",
    "GraphQL operations, by root field, type and outcome (ok, invalid, error).",
    ["operation", "type", "outcome"],
)
GRAPHQL_OPERATION_SECONDS = Histogram(
    "crisiswatch_graphql_operation_seconds",
    "Seconds per GraphQL operation by type; for a subscription, how long it stayed open.",
    ["type"],
    buckets=SECONDS,
)
GRAPHQL_SUBSCRIPTIONS_ACTIVE = Gauge(
    "crisiswatch_graphql_subscriptions_active",
    "GraphQL subscriptions open now.",
    multiprocess_mode="livesum",
)

# every worker
JOBS = Counter(
    "crisiswatch_jobs",
    "Queue jobs tried, by queue, message type and outcome (done, retried, dead_letter, duplicate).",
    ["queue", "message", "outcome"],
)
JOB_SECONDS = Histogram(
    "crisiswatch_job_seconds",
    "Seconds per try of a queue job, commit and publish included.",
    ["queue", "message"],
    buckets=SECONDS,
)

# the cluster, sampled by every worker
QUEUE_DEPTH = Gauge(
    "crisiswatch_queue_depth",
    "Jobs in each queue (waiting, deferred or running), by full queue name.",
    ["queue"],
    multiprocess_mode=CLUSTER,
)
QUEUE_OLDEST_JOB_AGE = Gauge(
    "crisiswatch_queue_oldest_job_age_seconds",
    "Seconds the oldest job due in each queue has waited past its due time; 0 when none.",
    ["queue"],
    multiprocess_mode=CLUSTER,
)
OUTBOX_BACKLOG = Gauge(
    "crisiswatch_outbox_backlog",
    "Outbox messages committed but not yet published to Redis.",
    multiprocess_mode=CLUSTER,
)
DEAD_LETTERS = Gauge(
    "crisiswatch_dead_letters",
    "Dead letters waiting for a person (not re-driven).",
    multiprocess_mode=CLUSTER,
)
MENTION_FAILURES = Gauge(
    "crisiswatch_mention_failures",
    "Mentions not analysed yet that need attention, by state (retrying, given_up).",
    ["state"],
    multiprocess_mode=CLUSTER,
)
UNAPPLIED_SIGNALS = Gauge(
    "crisiswatch_unapplied_signals",
    "Crisis-tier risk signals of the last day, older than 60 s, that no incident applied.",
    multiprocess_mode=CLUSTER,
)
