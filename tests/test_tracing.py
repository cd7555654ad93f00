"""One trace per piece of work, across processes: HTTP → outbox → queue → every worker.

The real ingest app and gateway serve on loopback sockets and the real workers drain their
queues in burst mode, all reporting to one in-memory exporter: the spans must link up into
a single trace by their parent ids, from ingest's request span through analysis, incidents
and notify, and from a gateway mutation to the worker that applies it.
"""

import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from arq.connections import ArqRedis
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, format_trace_id
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crisiswatch.demo_stream import BRAND, BRAND_KEYWORDS, chatter, crisis
from gateway.app import create_app as create_gateway
from gateway.config import GatewaySettings
from libs.contracts.enums import Role
from libs.contracts.messages import ANALYSIS_QUEUE, CreateWatchlist, MentionIngested
from libs.database.engine import transaction
from libs.database.tables import Incident
from libs.messaging import outbox
from libs.messaging.publisher import enqueue, publish
from libs.messaging.worker import Outcome, Route, Runtime, WorkerSpec
from libs.privacy import generate_key
from libs.settings import Settings
from libs.tracing import installed
from libs.tracing.propagation import producing
from libs.tracing.setup import tracer
from services.analysis.worker import create_worker as analysis_worker
from services.incidents.worker import create_worker as incidents_worker
from services.ingest.app import create_app as create_ingest
from services.ingest.config import IngestSettings
from services.notify.worker import create_worker as notify_worker
from tests.builders import Tenant, make_tenant
from tests.fixtures.http import client_of
from tests.fixtures.logs import captured_logs
from tests.fixtures.servers import Servers
from tests.fixtures.workers import running_workers

CREATE_WATCHLIST = """
mutation Create($input: CreateWatchlistInput!) {
  createWatchlist(input: $input) { __typename ... on Watchlist { databaseId } }
}
"""


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """Trace this test's apps and workers into memory; untraced again afterwards."""
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    with installed(provider):
        yield spans


class Trace:
    """The finished spans of one trace, walked by their parent ids."""

    def __init__(self, spans: tuple[ReadableSpan, ...], trace_id: int) -> None:
        self.spans = [s for s in spans if s.context is not None and s.context.trace_id == trace_id]
        self.by_id = {s.context.span_id: s for s in self.spans if s.context is not None}

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans if s.name == name]

    def one(self, name: str) -> ReadableSpan:
        [span] = self.named(name)
        return span

    def ancestors(self, span: ReadableSpan) -> list[str]:
        """Names from `span`'s parent up to the root; fails if a link is missing."""
        names = []
        while span.parent is not None:
            parent = self.by_id.get(span.parent.span_id)
            assert parent is not None, f"{span.name}'s parent is not in the trace"
            names.append(parent.name)
            span = parent
        return names


def _settings(servers: Servers) -> Settings:
    return Settings(
        database_url=servers.database_url, redis_url=servers.redis_url, data_key=generate_key()
    )


async def _drain(settings: Settings) -> None:
    """Let each worker drain its queue once, in the order messages flow."""
    for create in (analysis_worker, incidents_worker, notify_worker):
        worker = create(settings, burst=True, handle_signals=False)
        await worker.main()
        await worker.close()


async def _push(servers: Servers, settings: Settings, tenant: Tenant, posts: list[Any]) -> None:
    ingest = create_ingest(IngestSettings.extending(settings))
    headers = tenant.auth(Role.INGEST) | {"Content-Type": "application/json"}
    async with client_of(ingest) as http:
        answer = await http.post(
            "/v1/mentions", content=orjson.dumps({"mentions": posts}), headers=headers
        )
    assert answer.status_code == 202, answer.text


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


async def test_a_mention_is_one_trace_from_ingest_through_analysis_incidents_and_notify(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    exporter: InMemorySpanExporter,
) -> None:
    tenant = await make_tenant(sessions, "heilan")
    settings = _settings(servers)
    watched = CreateWatchlist(
        organization_id=tenant.org.id, actor="test", name=BRAND, keywords=list(BRAND_KEYWORDS)
    )
    await publish(redis, watched)
    now = datetime.now(UTC)
    await _push(servers, settings, tenant, list(chatter("trace", now)))
    await _drain(settings)
    exporter.clear()

    await _push(servers, settings, tenant, list(crisis("trace", now)))
    await _drain(settings)

    async with sessions() as session:
        assert (await session.exec(select(Incident))).one(), "the crisis opened an incident"
    spans = exporter.get_finished_spans()
    [request] = [s for s in spans if s.kind == SpanKind.SERVER and s.name == "POST /v1/mentions"]
    assert request.context is not None
    one = Trace(spans, request.context.trace_id)

    notified = one.one("process integration.event.v1")
    # Every hop is a child of the span that staged its message, up to the HTTP request.
    assert one.ancestors(notified) == [
        "create integration.event.v1",
        "process risk.signal_raised.v1",
        "create risk.signal_raised.v1",
        "process mention.ingested.v1",
        "create mention.ingested.v1",
        "POST /v1/mentions",
    ]
    assert notified.kind == SpanKind.CONSUMER
    assert one.one("create mention.ingested.v1").kind == SpanKind.PRODUCER
    # Each message was sent to Redis after its commit, inside the work that staged it.
    sends = one.named("send")
    assert len(sends) == 3
    assert {one.ancestors(s)[0] for s in sends} == {
        "POST /v1/mentions",
        "process mention.ingested.v1",
        "process risk.signal_raised.v1",
    }
    # Statements are spans under the work that ran them, in every process.
    for work in (request, *one.named("process mention.ingested.v1"), notified):
        statements = [
            s
            for s in one.spans
            if s.kind == SpanKind.CLIENT and work.name in [s.name, *one.ancestors(s)]
        ]
        assert statements, f"no SQL spans under {work.name}"
    assert all(span.status.is_ok for span in one.spans)


async def test_a_gateway_mutation_continues_into_its_worker_and_its_lines_carry_the_trace_id(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    exporter: InMemorySpanExporter,
) -> None:
    tenant = await make_tenant(sessions, "acme")
    settings = GatewaySettings(
        database_url=servers.database_url, redis_url=servers.redis_url, command_timeout_seconds=30
    )
    worker = analysis_worker(settings, burst=False, handle_signals=False)
    with captured_logs() as log:
        async with running_workers(worker), client_of(create_gateway(settings)) as http:
            answer = await http.post(
                "/graphql",
                json={
                    "query": CREATE_WATCHLIST,
                    "variables": {"input": {"name": "奶粉质量", "keywords": ["奶粉"]}},
                },
                headers=tenant.auth(Role.RESPONDER),
            )
            # A client mistake is logged (at INFO) inside its request.
            await http.post(
                "/graphql", json={"query": "{ nope }"}, headers=tenant.auth(Role.RESPONDER)
            )
    assert answer.json()["data"]["createWatchlist"]["__typename"] == "Watchlist"

    spans = exporter.get_finished_spans()
    # The worker's loops polled the database meanwhile: outside any work, not traced.
    assert all(s.parent is not None for s in spans if s.kind == SpanKind.CLIENT)
    requests = [s for s in spans if s.kind == SpanKind.SERVER]
    assert [s.name for s in requests] == ["POST /graphql", "POST /graphql"]
    assert requests[0].context is not None
    one = Trace(spans, requests[0].context.trace_id)
    applied = one.one("process watchlist.create.v1")
    assert one.ancestors(applied) == ["create watchlist.create.v1", "POST /graphql"]

    assert requests[1].context is not None
    mistake = format_trace_id(requests[1].context.trace_id)
    refused = [line for line in _lines(log) if line["logger"] == "gateway.errors"]
    assert refused and all(line["trace_id"] == mistake for line in refused)


async def test_lines_a_job_logs_carry_its_trace_id_even_for_a_malformed_message(
    servers: Servers, redis: ArqRedis, exporter: InMemorySpanExporter
) -> None:
    """The harness's own lines (here: a rejected message) belong to the message's trace."""
    good = MentionIngested(organization_id=uuid.uuid4(), mention_ids=[uuid.uuid4()])
    with producing(good, queue=ANALYSIS_QUEUE) as stamped:
        payload = stamped.model_dump(mode="json") | {"mention_ids": []}
    assert stamped.trace_context is not None
    await enqueue(redis, ANALYSIS_QUEUE, good.job_name(), str(good.message_id), payload)

    with captured_logs() as log:
        worker = analysis_worker(_settings(servers), burst=True, handle_signals=False)
        await worker.main()
        await worker.close()

    [rejected] = [line for line in _lines(log) if "rejected malformed" in line["event"]]
    [created] = [s for s in exporter.get_finished_spans() if s.name.startswith("create")]
    assert created.context is not None
    assert rejected["trace_id"] == format_trace_id(created.context.trace_id)
    [processed] = [s for s in exporter.get_finished_spans() if s.name.startswith("process")]
    assert processed.parent is not None and processed.parent.span_id == created.context.span_id
    assert processed.attributes is not None
    assert processed.attributes["crisiswatch.outcome"] == "dead_letter"


async def test_a_message_the_relay_publishes_later_stays_in_the_trace_that_staged_it(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    exporter: InMemorySpanExporter,
) -> None:
    """The context is taken when the message is staged: a relay publishing it later, from
    outside any request (here after a crash between commit and publish), changes nothing."""
    handled: list[MentionIngested] = []

    async def handle(_: Runtime, __: AsyncSession, message: MentionIngested) -> Outcome:
        handled.append(message)
        return Outcome()

    message = MentionIngested(organization_id=uuid.uuid4(), mention_ids=[uuid.uuid4()])
    with tracer().start_as_current_span("request") as request:
        async with transaction(sessions) as session:
            outbox.add(session, "test-tracing", message)
        # The process dies here: committed, never published.
    assert await outbox.relay_once(sessions, redis, "test-tracing", older_than=timedelta(0)) == 1
    spec = WorkerSpec("test-tracing", ANALYSIS_QUEUE, [Route(MentionIngested, handle)])
    worker = spec.build(_settings(servers), burst=True, handle_signals=False)
    await worker.main()
    await worker.close()

    assert [m.message_id for m in handled] == [message.message_id]
    one = Trace(exporter.get_finished_spans(), request.get_span_context().trace_id)
    assert one.ancestors(one.one("process mention.ingested.v1")) == [
        "create mention.ingested.v1",
        "request",
    ]
    # The relay's own send stands apart, linked to the message it sent.
    [send] = [s for s in exporter.get_finished_spans() if s.name == "send"]
    assert send.parent is None
    assert [link.context.span_id for link in send.links] == [
        one.one("create mention.ingested.v1").context.span_id
    ]


async def test_untraced_messages_keep_the_shape_they_always_had(
    servers: Servers, redis: ArqRedis
) -> None:
    """With tracing off (the default) nothing is stamped: consumers see the old JSON."""
    message = MentionIngested(organization_id=uuid.uuid4(), mention_ids=[uuid.uuid4()])
    with producing(message, queue=ANALYSIS_QUEUE) as stamped:
        assert stamped is message
    assert "trace_context" not in stamped.model_dump(mode="json")
