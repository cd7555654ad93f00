"""The dispatcher: a loop beside the queue routes that sends due deliveries and records answers.

It is the notify worker's second entry point. Each pass claims a batch (`service.claim_due`,
`FOR UPDATE SKIP LOCKED`, so several workers share the work without waiting on each other)
in a transaction of its own that commits the leases before any request is made; the
requests are then made outside any transaction, so no database connection waits on a slow
receiver; each answer is recorded (`service.record_answer`) in its own transaction.

It opens plain transactions rather than `libs.messaging.unit_of_work`: the lease must be
committed before sending, which is exactly what leaving a transaction does, and a pass emits
no messages and no live notices, so the unit of work's publish and announce steps would have
nothing to do and would only tie the loop to a Redis connection it never uses.

Time comes from a `Clock`, so tests move it by hand through the retry schedule.

An answer is worth keeping: if PostgreSQL goes away between the request and its record,
the dispatcher keeps trying to record it (with back-off) until shortly before the attempt's
lease ends, so the delivery is not left pending until the lease runs out and then sent
again. Only when the outage outlasts the lease is it sent again (same `webhook-id`).
"""

import asyncio
import logging
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.clock import Clock
from libs.database.engine import transaction
from libs.messaging.failures import backoff, is_transient
from libs.messaging.periodic import Periodic
from libs.privacy import DataKey
from services.notify import service
from services.notify.delivery import delivery
from services.notify.delivery.delivery import Attempt
from services.notify.endpoints.destinations import (
    NO_PRIVATE_NETWORKS,
    PrivateNetworks,
    Resolver,
    resolve,
)

log = logging.getLogger(__name__)

BATCH_SIZE = 50
MAX_BATCHES_PER_PASS = 20
CONCURRENCY = 10
# Recording stops this long before the attempt's lease ends: a record that lands after
# another pass took the delivery again would be refused anyway.
RECORD_MARGIN = timedelta(seconds=5)


class Dispatcher(Periodic):
    """Send due deliveries every `interval` seconds; `start()`/`stop()` come from `Periodic`."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        key: DataKey,
        clock: Clock,
        *,
        interval: float,
        client: httpx.AsyncClient | None = None,
        console_url: str | None = None,
        batch_size: int = BATCH_SIZE,
        concurrency: int = CONCURRENCY,
        private: PrivateNetworks = NO_PRIVATE_NETWORKS,
        resolve: Resolver = resolve,
    ) -> None:
        self._sessions = sessions
        self._key = key
        self._clock = clock
        self._owns_client = client is None
        self._client = client or delivery.new_client()
        self._console_url = console_url
        self._batch_size = batch_size
        self._limit = asyncio.Semaphore(concurrency)
        self._private = private
        self._resolve = resolve
        super().__init__("webhook dispatcher", self._pass, interval=interval)

    async def run_once(self) -> int:
        """Send everything due now, a batch at a time; return how many attempts were made."""
        made = 0
        for _ in range(MAX_BATCHES_PER_PASS):
            # Leaving this block commits the leases: only then are the requests made.
            async with transaction(self._sessions) as session:
                attempts = await service.claim_due(
                    session, self._key, now=self._clock.now(), limit=self._batch_size
                )
            if not attempts:
                break
            await asyncio.gather(*(self._attempt(attempt) for attempt in attempts))
            made += len(attempts)
            if len(attempts) < self._batch_size:
                break
        return made

    async def stop(self) -> None:
        """Stop the loop after its current pass and close the HTTP client it made."""
        await super().stop()
        await self.close()

    async def close(self) -> None:
        """Close the HTTP client if this dispatcher created it."""
        if self._owns_client:
            await self._client.aclose()

    async def _attempt(self, attempt: Attempt) -> None:
        async with self._limit:
            answer = await delivery.send(
                self._client,
                attempt,
                now=self._clock.now(),
                console_url=self._console_url,
                private=self._private,
                resolve=self._resolve,
            )
        status = await self._record(attempt, answer)
        if status is not None and not answer.succeeded:
            log.warning(
                "webhook delivery %s to endpoint %s: %s (now %s)",
                attempt.delivery_id,
                attempt.endpoint_id,
                answer.error or f"HTTP {answer.status_code}",
                status,
            )

    async def _record(self, attempt: Attempt, answer: delivery.Answer) -> str | None:
        """Record `answer`, waiting out a database outage while the attempt's lease lasts.

        Returns the delivery's status, or None when the answer could not be recorded before
        the lease ended (or the worker stops): the delivery is then sent again.
        """
        loop = asyncio.get_running_loop()
        left = (attempt.lease - RECORD_MARGIN - self._clock.now()).total_seconds()
        deadline = loop.time() + left
        tries = 0
        while True:
            try:
                async with transaction(self._sessions) as session:
                    return await service.record_answer(
                        session, attempt, answer, now=self._clock.now()
                    )
            except Exception as exc:
                if not is_transient(exc):
                    raise
                tries += 1
                wait = backoff(tries)
                if self._stopping.is_set() or loop.time() + wait >= deadline:
                    log.warning(
                        "webhook delivery %s: its answer could not be recorded (%s); it is "
                        "sent again once its lease ends",
                        attempt.delivery_id,
                        exc,
                    )
                    return None
                await asyncio.sleep(wait)

    async def _pass(self) -> None:
        count = await self.run_once()
        if count:
            log.info("webhook dispatcher: %d attempt(s) made", count)
