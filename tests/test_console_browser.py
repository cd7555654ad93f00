"""The reference console in Debian's Chromium, against the real gateway, ingest and workers.

The gateway serves the console at /console/; the browser opens it as `http://localhost:P`
while the page calls the API as `http://127.0.0.1:P`, so every request is cross-origin and
only passes because CORS_ALLOWED_ORIGINS lists the console's origin. The gateway runs only
the console's trusted documents (`gateway/console/static/documents.json`), as production
may. A person signs in with a key, sees the incident list, watches an incident the real
pipeline opens (the demo crisis pushed through ingest over HTTP) appear through the
subscription, opens it with its tasks, timeline and a statement, acknowledges it, and reads
the volume and sentiment chart. The screenshot is kept in the test's temporary folder.

Chromium comes from Debian (`apt-get install chromium`, which `python3 run.py test` does
as root); Playwright only drives it and downloads nothing.
"""

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import uvicorn
from arq.connections import ArqRedis
from fastapi import FastAPI
from playwright.async_api import (
    BrowserContext,
    Page,
    Playwright,
    Request,
    Response,
    async_playwright,
    expect,
)
from sqlmodel import col, func, select

from crisiswatch.demo_stream import BRAND, BRAND_KEYWORDS, chatter, crisis
from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.console.mount import STATIC
from gateway.live_hub import LiveHub
from libs.contracts.enums import IncidentStatus, Role, Tier
from libs.database.engine import transaction
from libs.database.tables import Incident, Mention, MentionAnalysis, ResponseTask, TimelineEvent
from libs.privacy import generate_key
from services.analysis.worker import create_worker as analysis_worker
from services.incidents.worker import create_worker as incidents_worker
from services.ingest.app import create_app as create_ingest
from tests.builders import (
    Sessions,
    Tenant,
    incident,
    make_tenant,
    read_all,
    response_task,
    watchlist,
)
from tests.fixtures.http import serving
from tests.fixtures.servers import Servers
from tests.fixtures.workers import running_workers

# What the test checks does not depend on which PostgreSQL the services use.
pytestmark = pytest.mark.parametrize("servers", ["embedded"], indirect=True)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCUMENTS = STATIC / "documents.json"
# The pipeline on a loaded machine: analysis of about a hundred posts, then the incident.
PIPELINE_SECONDS = 90.0
# A step the page takes on its own (a query, a redraw).
STEP_MS = 15_000


def _chromium() -> Path:
    """Debian's Chromium, or a failure saying how to get it: this test never skips."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the console's browser test needs Debian's Chromium. "
            "`python3 run.py test` installs it when run as root; otherwise run "
            "`apt-get install chromium chromium-driver`."
        )
    return CHROMIUM


def _document_id(name: str) -> str:
    """The id (SHA-256 of the text) of one of the console's documents."""
    manifest = json.loads(DOCUMENTS.read_text(encoding="utf-8"))
    found: str = next(op["id"] for op in manifest["operations"] if op["name"] == name)
    return found


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


@asynccontextmanager
async def _serve(app: FastAPI, sock: socket.socket) -> AsyncIterator[None]:
    """Run `app` on an already listening socket until the block ends."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                await task
            await asyncio.sleep(0.01)
        yield
    finally:
        server.should_exit = True
        await task
        sock.close()


async def _graphql(
    http: httpx.AsyncClient, api: str, secret: str, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """Run a document the console does not ship: a gateway that trusts only the console's
    documents refuses it, so these go to a second gateway on the same servers."""
    answer = await http.post(
        f"{api}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {secret}"},
    )
    body: dict[str, Any] = answer.json()
    assert answer.status_code == 200 and not body.get("errors"), body
    data: dict[str, Any] = body["data"]
    return data


async def _listeners(app: FastAPI, organization_id: uuid.UUID, count: int) -> None:
    hub: LiveHub = app.state.resources.hub
    async with asyncio.timeout(STEP_MS / 1000):
        await hub.wait_for_listeners(organization_id, count)


async def _analysed(sessions: Sessions, organization_id: uuid.UUID, count: int) -> None:
    """Wait until analysis has stored all `count` mentions of the organization."""
    async with asyncio.timeout(PIPELINE_SECONDS):
        while True:
            async with sessions() as session:
                done = (
                    await session.exec(
                        select(func.count()).where(
                            MentionAnalysis.organization_id == organization_id
                        )
                    )
                ).one()
            if done >= count:
                return
            await asyncio.sleep(0.2)


async def _old_incident(sessions: Sessions, tenant: Tenant) -> Incident:
    """An incident from two days ago, as the list shows before anything happens live."""
    async with transaction(sessions) as session:
        watched = await watchlist(session, tenant.org, name="旧款辅食")
        return await incident(
            session,
            tenant.org,
            watched,
            tier=Tier.YELLOW,
            status=IncidentStatus.ACKNOWLEDGED,
            detected_at=datetime.now(UTC) - timedelta(days=2),
        )


async def test_the_console_follows_a_crisis_from_another_origin(
    servers: Servers, sessions: Sessions, redis: ArqRedis, tmp_path: Path
) -> None:
    chromium = _chromium()
    tenant = await make_tenant(sessions, "heilan")
    old = await _old_incident(sessions, tenant)
    gateway_socket = _listening_socket()
    port = gateway_socket.getsockname()[1]
    api = f"http://127.0.0.1:{port}"
    console_origin = f"http://localhost:{port}"
    shared = GatewaySettings(
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        data_key=generate_key(),
        command_timeout_seconds=20.0,
    )
    settings = shared.model_copy(
        update={
            "cors_allowed_origins": console_origin,
            "trusted_documents_only": True,
            "trusted_documents_manifest": str(DOCUMENTS),
        }
    )
    marker = uuid.uuid4().hex[:8]
    statement_body = f"关于禾岚奶粉的情况说明：涉事批次已全部下架送检（{marker}）。"
    now = datetime.now(UTC)
    posts = chatter(marker, now) + crisis(marker, now)
    gateway_app = create_app(settings)

    async with (
        running_workers(
            analysis_worker(shared, handle_signals=False),
            incidents_worker(shared, handle_signals=False),
        ),
        serving(create_ingest(shared)) as ingest,
        serving(create_app(shared)) as open_api,
        _serve(gateway_app, gateway_socket),
        httpx.AsyncClient(timeout=30) as http,
        async_playwright() as playwright,
    ):
        await _graphql(
            http,
            open_api,
            tenant.keys[Role.ADMIN],
            "mutation($input: CreateWatchlistInput!) { createWatchlist(input: $input) {"
            " __typename ... on Refusal { message } } }",
            {"input": {"name": BRAND, "keywords": list(BRAND_KEYWORDS)}},
        )
        browser = await _launch(playwright, chromium, tmp_path)
        page = browser.pages[0] if browser.pages else await browser.new_page()
        gateway_answers: list[Response] = []
        page.on(
            "response",
            lambda response: (
                gateway_answers.append(response)
                if response.url.startswith(f"{api}/graphql")
                else None
            ),
        )
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        await page.goto(f"{console_origin}/console/")

        # An unknown key is refused with the gateway's reason, and nothing is kept.
        await _sign_in(page, api, "cw_not-a-key")
        await expect(page.locator("#sign-in-error")).to_have_text(
            "The API key is unknown or revoked.", timeout=STEP_MS
        )
        assert await page.evaluate("sessionStorage.length + localStorage.length") == 0
        secret = tenant.keys[Role.RESPONDER]
        await _sign_in(page, api, secret)

        rows = page.locator("#incidents li.incident")
        await expect(rows).to_have_count(1, timeout=STEP_MS)
        await expect(rows.first).to_contain_text(old.title)
        await expect(page.locator("#live-state")).to_have_attribute(
            "data-state", "live", timeout=STEP_MS
        )
        stored = await page.evaluate(
            "[sessionStorage.getItem('crisiswatch-console-key'), localStorage.length]"
        )
        assert stored == [secret, 0]
        # Both subscriptions (incident updates, mentions) have started on the gateway.
        await _listeners(gateway_app, tenant.org.id, 2)

        pushed = await http.post(
            f"{ingest}/v1/mentions", headers=tenant.auth(Role.INGEST), json={"mentions": posts}
        )
        assert pushed.status_code == 202, pushed.text

        # The incident the pipeline opens appears without a reload, above the old one.
        live_row = page.locator("#incidents li.incident.arrived-live")
        await expect(live_row).to_have_count(1, timeout=PIPELINE_SECONDS * 1000)
        opened = [
            row
            for row in await read_all(
                sessions, select(Incident).where(Incident.organization_id == tenant.org.id)
            )
            if row.id != old.id
        ]
        assert len(opened) == 1
        crisis_incident = opened[0]
        await expect(live_row).to_contain_text(crisis_incident.title)
        await expect(live_row).to_contain_text(crisis_incident.tier.upper())
        await expect(rows).to_have_count(2)
        await expect(rows.first).to_contain_text(crisis_incident.title)

        global_id = await live_row.get_attribute("data-id")
        drafted = await _graphql(
            http,
            open_api,
            secret,
            "mutation($id: ID!, $body: String!) { draftStatement(incidentId: $id,"
            " channel: WEIBO, body: $body) { __typename ... on Refusal { message } } }",
            {"id": global_id, "body": statement_body},
        )
        assert drafted["draftStatement"]["__typename"] == "Statement", drafted

        await live_row.locator("button").click()
        detail = page.locator("#incident")
        await expect(page.locator("#incident-title")).to_have_text(crisis_incident.title)
        tasks = await read_all(
            sessions,
            select(ResponseTask)
            .where(ResponseTask.incident_id == crisis_incident.id)
            .order_by(col(ResponseTask.position)),
        )
        assert tasks
        await expect(page.locator("#tasks tbody tr td:first-child")).to_have_text(
            [task.title for task in tasks]
        )
        events = await read_all(
            sessions, select(TimelineEvent).where(TimelineEvent.incident_id == crisis_incident.id)
        )
        opened_event = next(event for event in events if event.kind == "opened")
        await expect(page.locator("#timeline li[data-kind='OPENED'] .message")).to_have_text(
            opened_event.message
        )
        await expect(page.locator("#statements li.statement .body")).to_have_text(statement_body)

        # The one mutation the console sends: its answer and the live update both show it.
        await page.locator("#acknowledge").click()
        await expect(detail).to_have_attribute("data-status", "ACKNOWLEDGED", timeout=STEP_MS)
        await expect(page.locator("#timeline li[data-kind='STATUS_CHANGED']")).to_contain_text(
            "acknowledged in the reference console"
        )
        await expect(page.locator("#tasks tbody tr[data-status='DONE']")).to_have_count(1)
        await expect(live_row).to_have_attribute("data-status", "ACKNOWLEDGED")

        # The chart shows every mention pushed, and the negative ones analysis found.
        await _analysed(sessions, tenant.org.id, len(posts))
        async with sessions() as session:
            stored_mentions = (
                await session.exec(
                    select(func.count()).where(Mention.organization_id == tenant.org.id)
                )
            ).one()
            negative = (
                await session.exec(
                    select(func.count()).where(
                        MentionAnalysis.organization_id == tenant.org.id,
                        MentionAnalysis.sentiment == "negative",
                    )
                )
            ).one()
        assert stored_mentions == len(posts) and negative > 0
        # No reload and no click: the mentions subscription has the chart read again.
        await page.wait_for_function(
            """([total, negative]) => {
              const buckets = [...document.querySelectorAll("#chart svg g.bucket")];
              const sum = (name) => buckets.reduce((s, b) => s + Number(b.dataset[name]), 0);
              return buckets.length >= 24 && sum("total") === total
                && sum("negative") === negative;
            }""",
            arg=[stored_mentions, negative],
            timeout=STEP_MS,
        )
        points = page.locator("#chart svg circle.sentiment-point")
        scored = page.locator("#chart svg g.bucket:not([data-sentiment=''])")
        assert await points.count() == await scored.count() > 0
        await expect(page.locator("#chart-summary")).to_contain_text(
            f"{stored_mentions} mentions in the last 24 hours, {negative} negative"
        )

        shots = tmp_path / "console"
        shots.mkdir()
        screenshot = shots / "console.png"
        await page.screenshot(path=str(screenshot), full_page=True)
        print(f"console screenshot: {screenshot}")
        await browser.close()

    assert screenshot.stat().st_size > 10_000
    assert not problems, problems
    # Every call crossed origins and was let through by the gateway's CORS answer.
    assert gateway_answers
    assert {answer.headers.get("access-control-allow-origin") for answer in gateway_answers} == {
        console_origin
    }
    async with sessions() as session:
        acknowledged = await session.get(Incident, crisis_incident.id)
    assert acknowledged is not None and acknowledged.status == IncidentStatus.ACKNOWLEDGED.value


async def _launch(playwright: Playwright, chromium: Path, folder: Path) -> BrowserContext:
    """Start Debian's Chromium on a fresh profile in `folder`."""
    return await playwright.chromium.launch_persistent_context(
        str(folder / "profile"),
        executable_path=str(chromium),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1280, "height": 1000},
    )


async def _sign_in(page: Page, api: str, secret: str) -> None:
    await page.locator("#gateway-url").fill(api)
    await page.locator("#api-key").fill(secret)
    await page.locator("#sign-in button[type=submit]").click()


async def test_the_console_registers_its_documents_where_any_document_may_run(
    servers: Servers, sessions: Sessions, redis: ArqRedis, tmp_path: Path
) -> None:
    chromium = _chromium()
    tenant = await make_tenant(sessions, "heilan")
    old = await _old_incident(sessions, tenant)
    async with transaction(sessions) as session:
        task = await response_task(
            session,
            old,
            "confirm_scope",
            old.detected_at + timedelta(hours=2),
            title="确认影响范围",
        )
    gateway_socket = _listening_socket()
    port = gateway_socket.getsockname()[1]
    api = f"http://127.0.0.1:{port}"
    console_origin = f"http://localhost:{port}"
    settings = GatewaySettings(
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        data_key=generate_key(),
        cors_allowed_origins=console_origin,
    )
    sent: list[tuple[str, str]] = []

    def record(request: Request) -> None:
        if request.url.startswith(f"{api}/graphql"):
            sent.append((request.method, request.post_data or request.url))

    async with (
        _serve(create_app(settings), gateway_socket),
        async_playwright() as playwright,
    ):
        browser = await _launch(playwright, chromium, tmp_path)
        page = browser.pages[0] if browser.pages else await browser.new_page()
        page.on("request", record)
        await page.goto(f"{console_origin}/console/")
        await _sign_in(page, api, tenant.keys[Role.VIEWER])
        rows = page.locator("#incidents li.incident")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text(old.title)
        await rows.first.locator("button").click()
        await expect(page.locator("#tasks tbody tr td:first-child")).to_have_text([task.title])
        assert page.url == f"{console_origin}/console/#/incidents/{old.id}"
        first_visit = list(sent)

        # The key outlives a reload of the tab, the address reopens the incident, and the
        # hashes are known by now.
        sent.clear()
        await page.reload()
        await expect(page.locator("#live-state")).to_have_attribute(
            "data-state", "live", timeout=STEP_MS
        )
        await expect(rows).to_have_count(1)
        await expect(page.locator("#incident-title")).to_have_text(old.title)
        await expect(page.locator("#tasks tbody tr td:first-child")).to_have_text([task.title])
        await browser.close()

    incidents_hash = _document_id("ConsoleIncidents")
    # The gateway did not know the hash: it asked for the text, which the console then sent.
    listing = [(method, data) for method, data in first_visit if incidents_hash in data]
    # (Later GETs are the re-read after the socket's acknowledgement.)
    assert [method for method, _ in listing][:2] == ["GET", "POST"]
    assert {method for method, _ in listing[2:]} <= {"GET"}
    assert "query ConsoleIncidents" not in unquote(listing[0][1])
    assert "query ConsoleIncidents" in listing[1][1]
    # Once registered, each query goes by its hash alone.
    assert sent and all(method == "GET" for method, _ in sent)
    assert not any("query Console" in unquote(data) for _, data in sent)
