"""An answer received while PostgreSQL goes away is recorded once it is back, not lost.

The dispatcher sends a delivery, and PostgreSQL stops between the receiver's answer and
its record. The dispatcher waits the outage out (within the attempt's lease) and records the
answer: the delivery ends `succeeded` after one attempt, instead of waiting, still pending,
for its lease to run out and then being sent again.
"""

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from crisiswatch.embedded import EmbeddedPostgres, start_postgres
from libs.database.engine import create_engine, session_factory
from libs.privacy import DataKey, generate_key
from services.notify.delivery.delivery import new_client
from services.notify.tests.builders import (
    Receiver,
    deliveries_of,
    emit,
    event,
    local_endpoint,
    serve_receiver,
)
from services.notify.tests.network import NETWORK, LoopbackRouter
from services.notify.worker import dispatch_once

OUTAGE_SECONDS = 3.0


class StopsPostgresAfterAnswer(httpx.AsyncBaseTransport):
    """Stops PostgreSQL once the receiver has answered, and starts it again a little later."""

    def __init__(self, inner: httpx.AsyncBaseTransport, postgres: EmbeddedPostgres) -> None:
        self._inner = inner
        self._postgres = postgres
        self.restarted = threading.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        await asyncio.to_thread(self._postgres.stop)
        threading.Thread(target=self._restart, daemon=True).start()
        return response

    def _restart(self) -> None:
        threading.Event().wait(OUTAGE_SECONDS)
        start_postgres(self._postgres.pgdata)
        self.restarted.set()

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A plain-HTTP receiver on 127.0.0.1 for this test."""
    yield from serve_receiver()


async def test_an_answer_is_recorded_after_a_database_outage(
    own_postgres: EmbeddedPostgres, receiver: Receiver
) -> None:
    key = DataKey.from_base64(generate_key())
    engine = create_engine(own_postgres.url, pool_size=2)
    sessions = session_factory(engine)
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        org, endpoint_id, _ = await local_endpoint(sessions, key, receiver.url("outage"), now=now)
        await emit(sessions, event(org, occurred_at=now), now=now)
        transport = StopsPostgresAfterAnswer(
            LoopbackRouter(httpx.AsyncHTTPTransport()), own_postgres
        )
        async with new_client(transport=transport) as client:
            attempts = await dispatch_once(sessions, key, now=now, client=client, private=NETWORK)
        # The dispatcher records as soon as PostgreSQL accepts connections, which can be a
        # moment before the restarting thread returns and says so.
        assert await asyncio.to_thread(transport.restarted.wait, 30)
        assert attempts == 1
        [delivery] = await deliveries_of(sessions, endpoint_id)
        assert (delivery.status, delivery.attempts) == ("succeeded", 1)
        assert len(receiver.on("outage")) == 1
    finally:
        await engine.dispose()
