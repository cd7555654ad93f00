"""A scrape of every process, after the demo ran through the whole system, finds its metrics.

Starts `crisiswatch up` as a real process (the external servers when TEST_DATABASE_URL /
TEST_REDIS_URL are set, else embedded ones), checks that it says where each process serves
metrics, plays the demo stream through ingest and the gateway, then scrapes ingest, the
gateway and the three workers and looks for each metric with the samples real work left.
"""

import asyncio
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from crisiswatch.demo import run_demo
from libs.metrics.cluster import SAMPLE_INTERVAL_SECONDS
from tests.fixtures.ports import free_block
from tests.test_flow import System, _flush_redis, _psql, external_env

# Start-up alone may take `test_flow.START_TIMEOUT` on a busy machine: past the default 300 s.
pytestmark = [pytest.mark.flow, pytest.mark.timeout(600)]

WORKER_METRICS = {
    "crisiswatch_jobs",
    "crisiswatch_job_seconds",
    "crisiswatch_commands",
    "crisiswatch_queue_depth",
    "crisiswatch_queue_oldest_job_age_seconds",
    "crisiswatch_outbox_backlog",
    "crisiswatch_dead_letters",
    "crisiswatch_mention_failures",
    "crisiswatch_unapplied_signals",
    "crisiswatch_incidents_open",
    "crisiswatch_tasks_overdue",
    "crisiswatch_webhook_deliveries_pending",
}
EXPECTED = {
    "ingest": {
        "crisiswatch_ingest_requests",
        "crisiswatch_ingest_items",
        "crisiswatch_ingest_batch_seconds",
    },
    "gateway": {
        "crisiswatch_graphql_operations",
        "crisiswatch_graphql_operation_seconds",
        "crisiswatch_graphql_subscriptions_active",
    },
    "analysis": WORKER_METRICS
    | {
        "crisiswatch_analysis_batch_size",
        "crisiswatch_analysis_batch_seconds",
        "crisiswatch_analysis_stage_seconds",
        "crisiswatch_analysis_lag_seconds",
        "crisiswatch_risk_signals",
    },
    "incidents": WORKER_METRICS,
    "notify": WORKER_METRICS | {"crisiswatch_webhook_deliveries"},
}
QUEUES = ("crisiswatch:analysis", "crisiswatch:incidents", "crisiswatch:events")


@pytest.fixture
def system() -> Iterator[System]:
    """The launcher on the external servers when configured, else on embedded ones."""
    folder = Path(tempfile.mkdtemp(prefix="cwm-", dir="/tmp"))
    # The workers serve on METRICS_PORT + 1 to + 3.
    extra = {"METRICS_PORT": str(free_block(4))}
    database = None
    env = external_env()
    if env is not None:
        database = f"crisiswatch_metrics_{secrets.token_hex(4)}"
        _psql(env["DATABASE_URL"], f'CREATE DATABASE "{database}"')
        url = make_url(env["DATABASE_URL"]).set(database=database)
        extra |= {
            "DATABASE_URL": url.render_as_string(hide_password=False),
            "REDIS_URL": env["REDIS_URL"],
        }
        _flush_redis(env["REDIS_URL"])
    running = System(folder, extra)
    try:
        yield running
    finally:
        if running.process is not None and running.process.poll() is None:
            running.stop()
        if database is not None:
            _psql(
                os.environ["TEST_DATABASE_URL"],
                f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
            )
        shutil.rmtree(folder, ignore_errors=True)


def _scrape(url: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    answer = httpx.get(f"{url}/metrics", timeout=10)
    assert answer.status_code == 200, url
    return {
        family.name: [(s.name, s.labels, s.value) for s in family.samples]
        for family in text_string_to_metric_families(answer.text)
    }


def _total(
    found: dict[str, list[tuple[str, dict[str, str], float]]], sample: str, **labels: str
) -> float:
    family = sample.removesuffix("_total").removesuffix("_count")
    return sum(
        value
        for name, have, value in found.get(family, [])
        if name == sample and all(have.get(k) == v for k, v in labels.items())
    )


def test_every_process_serves_its_metrics_after_the_demo(system: System) -> None:
    system.start()
    log = system.log.read_text()
    announced = dict(re.findall(r"^\s+(\w+)\s+(http://\S+)/metrics$", log, re.MULTILINE))
    assert set(announced) == set(EXPECTED), log[-3000:]
    base = int(system.env["METRICS_PORT"])
    assert announced["analysis"].endswith(f":{base + 1}")
    assert announced["notify"].endswith(f":{base + 3}")

    credentials = system.credentials()
    result = asyncio.run(
        run_demo(
            ingest_url=system.ingest_url,
            gateway_url=system.gateway_url,
            ingest_key=credentials["ingest_key"],
            admin_key=credentials["admin_key"],
            out=lambda _: None,
        )
    )
    assert result.incident is not None

    scraped = {name: _scrape(url) for name, url in announced.items()}
    for process, names in EXPECTED.items():
        missing = names - set(scraped[process])
        assert not missing, f"{process} lacks {sorted(missing)}"

    ingest, gateway = scraped["ingest"], scraped["gateway"]
    analysis, incidents = scraped["analysis"], scraped["incidents"]
    assert (
        _total(ingest, "crisiswatch_ingest_requests_total", route="POST /v1/mentions", status="202")
        > 0
    )
    assert _total(ingest, "crisiswatch_ingest_items_total", outcome="accepted") > 0
    assert _total(ingest, "crisiswatch_ingest_batch_seconds_count") > 0
    assert _total(gateway, "crisiswatch_graphql_operations_total", type="query", outcome="ok") > 0
    # A fresh system: the demo creates its watchlist, a mutation counted by its root field.
    created = {"operation": "createWatchlist", "type": "mutation", "outcome": "ok"}
    assert _total(gateway, "crisiswatch_graphql_operations_total", **created) > 0
    assert _total(gateway, "crisiswatch_graphql_operation_seconds_count", type="query") > 0
    assert _total(analysis, "crisiswatch_analysis_batch_size_count") > 0
    assert _total(analysis, "crisiswatch_analysis_lag_seconds_count") > 0
    for stage in ("store_hits", "read_windows", "count_in_rollups"):
        assert _total(analysis, "crisiswatch_analysis_stage_seconds_count", stage=stage) > 0
    assert _total(analysis, "crisiswatch_risk_signals_total") > 0
    assert (
        _total(
            analysis,
            "crisiswatch_jobs_total",
            queue="crisiswatch:analysis",
            message="mention.ingested.v1",
            outcome="done",
        )
        > 0
    )
    assert (
        _total(
            incidents,
            "crisiswatch_jobs_total",
            queue="crisiswatch:incidents",
            message="risk.signal_raised.v1",
        )
        > 0
    )
    assert _total(scraped["notify"], "crisiswatch_jobs_total", queue="crisiswatch:events") > 0
    # The cluster's gauges are sampled every 15 s: the next pass sees the demo's incident.
    deadline = time.monotonic() + SAMPLE_INTERVAL_SECONDS + 15
    while _total(incidents, "crisiswatch_incidents_open") < 1:
        assert time.monotonic() < deadline, "no open incident in crisiswatch_incidents_open"
        time.sleep(1)
        incidents = _scrape(announced["incidents"])
    for process in ("analysis", "incidents", "notify"):
        depths = {labels["queue"] for _, labels, _ in scraped[process]["crisiswatch_queue_depth"]}
        assert depths == set(QUEUES), process

    for name, url in announced.items():
        assert httpx.get(f"{url}/livez").status_code == 200, name
        assert httpx.get(f"{url}/readyz").status_code == 200, name
