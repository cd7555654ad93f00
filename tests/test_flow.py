"""The whole system as real processes: `crisiswatch up`, the demo stream, GraphQL, shutdown.

Starts the launcher exactly as a user would (embedded servers in a temporary data folder,
or the external servers when TEST_DATABASE_URL / TEST_REDIS_URL are set), pushes the demo
stream through ingest over HTTP, finds the incident and its tasks through GraphQL over
HTTP, acknowledges it, stops the launcher with SIGTERM, checks nothing is left running, and
starts it again on the same folder to see the data kept.
"""

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from sqlalchemy.engine import make_url

from crisiswatch.demo import run_demo
from libs.contracts.enums import Tier
from services.incidents.playbook.defaults import DEFAULT_PLAYBOOKS
from tests.fixtures.ports import free_port
from tests.fixtures.servers import own_redis_database

# Start-up alone may take START_TIMEOUT on a busy machine: past pytest's default 300 s.
pytestmark = [pytest.mark.flow, pytest.mark.timeout(600)]

# Migrations plus the launcher's own STARTUP_TIMEOUT_SECONDS (180 s) on a busy machine.
START_TIMEOUT = 300.0
# Every tier's default playbook holds the DESIGN.md deadlines, counted from detection.
CORE_DEADLINES = {
    "acknowledge": timedelta(minutes=30),
    "confirm_scope": timedelta(hours=2),
    "first_statement": timedelta(hours=4),
    "detailed_reply": timedelta(hours=24),
    "full_plan": timedelta(hours=48),
}


class System:
    """A launcher process and the folder it keeps its data in."""

    def __init__(self, folder: Path, extra_env: dict[str, str]) -> None:
        self.folder = folder
        self.ingest_port = free_port()
        self.gateway_port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
            "CRISISWATCH_DATA_DIR": str(folder / "data"),
            "INGEST_PORT": str(self.ingest_port),
            "GATEWAY_PORT": str(self.gateway_port),
            **extra_env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / "launcher.log"

    @property
    def ingest_url(self) -> str:
        return f"http://127.0.0.1:{self.ingest_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "crisiswatch", "up"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        runtime = self.folder / "data" / "runtime.json"
        while not runtime.exists():
            if self.process.poll() is not None:
                raise AssertionError(f"launcher exited early:\n{self.log.read_text()[-4000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"launcher not up in time:\n{self.log.read_text()[-4000:]}")
            time.sleep(0.2)

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(60)

    def credentials(self) -> dict[str, str]:
        data: dict[str, str] = json.loads((self.folder / "data" / "credentials.json").read_text())
        return data

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(
            f"{self.gateway_url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.credentials()['admin_key']}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert not body.get("errors"), body
        return body["data"]  # type: ignore[no-any-return]


def leftover_servers(folder: Path) -> list[str]:
    """Return postgres or redis processes still running on files under `folder`."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(folder) in cmdline and ("postgres" in cmdline or "redis" in cmdline):
            found.append(cmdline)
    return found


def external_env() -> dict[str, str] | None:
    database_url = os.environ.get("TEST_DATABASE_URL")
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not database_url or not redis_url:
        return None
    return {"DATABASE_URL": database_url, "REDIS_URL": own_redis_database(redis_url)}


@pytest.fixture(params=["embedded", "external"])
def system(request: pytest.FixtureRequest) -> Iterator[System]:
    folder = Path(tempfile.mkdtemp(prefix="cwf-", dir="/tmp"))
    extra: dict[str, str] = {}
    database = None
    if request.param == "external":
        env = external_env()
        if env is None:
            pytest.skip("TEST_DATABASE_URL and TEST_REDIS_URL are not set")
        database = f"crisiswatch_flow_{secrets.token_hex(4)}"
        admin = env["DATABASE_URL"]
        _psql(admin, f'CREATE DATABASE "{database}"')
        url = make_url(admin).set(database=database).render_as_string(hide_password=False)
        extra = {"DATABASE_URL": url, "REDIS_URL": env["REDIS_URL"]}
        _flush_redis(env["REDIS_URL"])
    system = System(folder, extra)
    try:
        yield system
    finally:
        if system.process is not None and system.process.poll() is None:
            system.stop()
        if database is not None:
            drop = f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'
            _psql(os.environ["TEST_DATABASE_URL"], drop)


def _flush_redis(url: str) -> None:
    """Start from an empty queue: jobs left by other tests belong to other databases."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def _psql(url: str, statement: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


INCIDENTS = """
query { incidents(first: 5) { edges { node {
  id tier status detectedAt title
  tasks { id title kind dueAt status }
  timeline { kind message }
} } } }
"""

NEGATIVE_MENTION = """
query { mentions(first: 1, filter: {sentiment: NEGATIVE}) { edges { node { databaseId } } } }
"""

ACKNOWLEDGE = """
mutation($id: ID!) { acknowledgeIncident(id: $id, note: "监测已启动") {
  __typename
  ... on Incident { id status acknowledgedAt }
} }
"""


def test_demo_stream_through_running_system_opens_an_incident_with_its_tasks(
    system: System,
) -> None:
    system.start()
    credentials = system.credentials()
    assert credentials["organization"] == "demo"

    result = asyncio.run(
        run_demo(
            ingest_url=system.ingest_url,
            gateway_url=system.gateway_url,
            ingest_key=credentials["ingest_key"],
            admin_key=credentials["admin_key"],
            out=lambda line: None,
        )
    )
    assert result.accepted == result.mentions_sent > 50
    assert result.incident is not None, "no orange or red incident within the demo's timeout"
    assert result.seconds_to_incident is not None and result.seconds_to_incident < 10

    edges = system.graphql(INCIDENTS)["incidents"]["edges"]
    assert len(edges) == 1  # one watchlist, one open incident
    incident = edges[0]["node"]
    assert incident["tier"] in {"ORANGE", "RED"}
    assert incident["status"] == "DETECTED"
    detected = datetime.fromisoformat(incident["detectedAt"])
    tasks = {task["kind"]: task for task in incident["tasks"]}
    expected = {
        t.kind: t.due_after for t in DEFAULT_PLAYBOOKS[Tier(incident["tier"].lower())].tasks
    }
    assert set(tasks) == set(expected) and set(CORE_DEADLINES) <= set(expected)
    for kind, offset in expected.items():
        assert datetime.fromisoformat(tasks[kind]["dueAt"]) - detected == offset
    for kind, offset in CORE_DEADLINES.items():
        assert expected[kind] == offset
    assert incident["timeline"][0]["kind"] == "opened"

    # The REST read of a mention carries its analysis once done; the push-only ingest key
    # may not read it back, a key that may read (here the admin's) does.
    newest = system.graphql(NEGATIVE_MENTION)["mentions"]["edges"][0]["node"]
    pushed_only = httpx.get(
        f"{system.ingest_url}/v1/mentions/{newest['databaseId']}",
        headers={"Authorization": f"Bearer {credentials['ingest_key']}"},
        timeout=10,
    )
    assert pushed_only.status_code == 403, pushed_only.text
    rest = httpx.get(
        f"{system.ingest_url}/v1/mentions/{newest['databaseId']}",
        headers={"Authorization": f"Bearer {credentials['admin_key']}"},
        timeout=10,
    )
    assert rest.status_code == 200, rest.text
    assert rest.json()["analysis"]["sentiment"] == "negative"
    assert rest.json()["analysis"]["watchlist_ids"]

    acknowledged = system.graphql(ACKNOWLEDGE, {"id": incident["id"]})["acknowledgeIncident"]
    assert acknowledged["__typename"] == "Incident"
    assert acknowledged["status"] == "ACKNOWLEDGED"

    assert system.stop() == 0
    assert leftover_servers(system.folder) == []

    # Same folder, second run: the data and the demo keys are kept.
    system.start()
    assert system.credentials() == credentials
    again = system.graphql(INCIDENTS)["incidents"]["edges"]
    assert [edge["node"]["id"] for edge in again] == [incident["id"]]
    assert again[0]["node"]["status"] == "ACKNOWLEDGED"
    assert system.stop() == 0
    assert leftover_servers(system.folder) == []
