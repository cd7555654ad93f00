"""The one logging setup: JSON lines with the ids of their work, masked, tracebacks only for
the unexpected, readable lines in development."""

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from graphql import GraphQLError
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.core.errors import log_errors
from libs.contracts.enums import Role
from libs.contracts.messages import MentionIngested
from libs.logs.http import request_id
from libs.messaging.job_logs import bind_jobs
from libs.messaging.publisher import publish
from libs.messaging.worker import Outcome, Route, Runtime, WorkerSpec
from libs.privacy import generate_key
from libs.settings import Settings
from tests.builders import Sessions, make_tenant
from tests.fixtures.http import serving
from tests.fixtures.logs import captured_logs
from tests.fixtures.ports import free_port
from tests.fixtures.servers import Servers

PHONE = "13812345678"
EMAIL = "li.lei@example.com"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    with captured_logs() as stream:
        yield stream


@pytest.fixture
def console_log() -> Iterator[io.StringIO]:
    with captured_logs(development=True) as stream:
        yield stream


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """Every line written, each parsed as JSON (a line that is not JSON fails the test)."""
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_served_ingest_writes_json_access_lines_with_request_ids_and_masked_data(
    servers: Servers, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": servers.database_url,
        "REDIS_URL": servers.redis_url,
        "CRISISWATCH_DATA_KEY": generate_key(),
        "CRISISWATCH_ENV": "production",
        "INGEST_PORT": str(port),
    }
    errors = tmp_path / "ingest.log"
    with errors.open("w") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "crisiswatch", "serve", "ingest"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, errors.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, errors.read_text()
            time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=10) as http:
            followed = http.get(
                f"/v1/mentions/{PHONE}",
                params={"email": EMAIL},
                headers={"X-Request-ID": "trace-42"},
            )
            refused = http.post(
                "/v1/mentions",
                json={"mentions": [{"text": f"call {PHONE}"}]},
                headers={"Authorization": "Bearer cw_nope", "X-Request-ID": PHONE},
            )
            fresh = http.get("/healthz")
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    text = errors.read_text()

    assert followed.headers["X-Request-ID"] == "trace-42"
    # An id holding personal data is not echoed nor logged: a fresh one replaces it.
    assert refused.status_code == 401 and refused.headers["X-Request-ID"] != PHONE
    uuid.UUID(refused.headers["X-Request-ID"])
    uuid.UUID(fresh.headers["X-Request-ID"])
    assert "Logging error" not in text and "Traceback" not in text
    logged = [json.loads(line) for line in text.splitlines() if line.strip()]
    access = {line["request_id"]: line for line in logged if line["logger"] == "uvicorn.access"}
    for response in (followed, refused, fresh):
        line = access[response.headers["X-Request-ID"]]
        assert line["status"] == response.status_code and line["level"] == "info"
        assert line["trace_id"] == ""
    assert access["trace-42"]["path"].startswith("/v1/mentions/138****5678?email=l***@example.com")
    assert PHONE not in text and EMAIL not in text and EMAIL.replace("@", "%40") not in text


async def test_graphql_client_mistakes_are_one_line_without_traceback(
    servers: Servers, sessions: Sessions, redis: ArqRedis, json_log: io.StringIO
) -> None:
    acme = await make_tenant(sessions)
    settings = GatewaySettings(database_url=servers.database_url, redis_url=servers.redis_url)
    async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as http:
        for query in ("{ deadLetters(first: 101) { messageId } }", "query Typo { nope }"):
            response = await http.post(
                "/graphql", json={"query": query}, headers=acme.auth(Role.ADMIN)
            )
            assert response.json()["errors"]

    logged = [line for line in lines(json_log) if line["logger"] == "gateway.errors"]
    assert [(line["level"], line["operation"]) for line in logged] == [
        ("info", "anonymous"),
        ("info", "Typo"),
    ]
    assert "`first` must be between 0 and 100, got 101." in logged[0]["event"]
    assert logged[0]["path"] == "deadLetters"
    assert all("exception" not in line for line in lines(json_log))
    assert not [line for line in lines(json_log) if line["level"] == "error"]
    # The organization of the caller's key marks the lines of its requests.
    assert {line.get("organization_id") for line in logged} == {str(acme.org.id)}


def test_an_unexpected_graphql_failure_is_an_error_with_its_traceback_masked(
    json_log: io.StringIO,
) -> None:
    try:
        raise RuntimeError(f"lookup of {PHONE} broke")
    except RuntimeError as exc:
        failure = exc
    log_errors([GraphQLError("Unexpected error.", original_error=failure)], "Page")

    [line] = lines(json_log)
    assert line["level"] == "error" and line["operation"] == "Page"
    assert "Traceback" in line["exception"] and "lookup of 138****5678 broke" in line["exception"]
    assert PHONE not in json_log.getvalue()


async def test_a_worker_jobs_lines_carry_its_message_id_job_and_organization(
    servers: Servers, sessions: Sessions, redis: ArqRedis, json_log: io.StringIO
) -> None:
    acme = await make_tenant(sessions)

    async def handle(runtime: Runtime, session: AsyncSession, event: MentionIngested) -> Outcome:
        logging.getLogger("crisiswatch.test.logs").info("analysing for %s", PHONE)
        return Outcome()

    event = MentionIngested(organization_id=acme.org.id, mention_ids=[uuid.uuid4()])
    await publish(redis, event)
    settings = Settings(database_url=servers.database_url, redis_url=servers.redis_url)
    spec = WorkerSpec("test-logs", MentionIngested.QUEUE, [Route(MentionIngested, handle)])
    worker = bind_jobs(spec.build(settings, handle_signals=False, burst=True))
    await worker.main()
    await worker.close()

    [line] = [line for line in lines(json_log) if line["logger"] == "crisiswatch.test.logs"]
    assert line["message_id"] == str(event.message_id)
    assert line["job"] == "mention.ingested.v1"
    assert line["organization_id"] == str(acme.org.id)
    assert line["event"] == "analysing for 138****5678"
    # arq's own line for the job's end is marked with the message id as well.
    [done] = [line for line in lines(json_log) if "←" in line["event"]]
    assert done["message_id"] == str(event.message_id) and done["logger"] == "arq.worker"


def test_development_writes_readable_console_lines(console_log: io.StringIO) -> None:
    logging.getLogger("crisiswatch.test.logs").warning("contact %s unreachable", EMAIL)

    text = console_log.getvalue()
    assert text.startswith("20") and "[warning" in text and "crisiswatch.test.logs" in text
    assert "contact l***@example.com unreachable" in text and EMAIL not in text
    assert "\x1b[" not in text  # no colour codes in a buffer, only at a terminal
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_a_request_id_is_a_plain_token_or_replaced() -> None:
    assert request_id("abc-123_X.y:z") == "abc-123_X.y:z"
    for unusable in (None, "", "x" * 129, "a b", f"id-{PHONE}", EMAIL):
        uuid.UUID(request_id(unusable))
