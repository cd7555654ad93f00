"""The messaging ledgers keep what may still be needed and drop the rest."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from pydantic import ValidationError
from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.engine import transaction
from libs.database.tables import DeadLetter, MessageReceipt, OutboxMessage
from libs.messaging.retention import (
    MEASURED,
    Retention,
    measure,
    prune_once,
)
from libs.settings import Settings


def _outbox(at: datetime, published: bool) -> OutboxMessage:
    return OutboxMessage(
        id=uuid.uuid4(),
        producer="analysis",
        queue="q",
        job_name="risk.signal_raised.v1",
        payload={},
        created_at=at,
        published_at=at if published else None,
    )


def _letter(redriven_at: datetime | None) -> DeadLetter:
    return DeadLetter(
        consumer="incidents",
        message_id=uuid.uuid4(),
        queue="q",
        job_name="x.v1",
        payload={},
        error="ValueError",
        redriven_at=redriven_at,
    )


async def test_old_rows_go_and_what_may_still_be_needed_stays(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=40), now - timedelta(hours=1)
    old_receipt = MessageReceipt(consumer="c", message_id=uuid.uuid4(), message_name="x.v1")
    new_receipt = MessageReceipt(consumer="c", message_id=uuid.uuid4(), message_name="x.v1")
    old_receipt.handled_at, new_receipt.handled_at = old, recent
    sent_long_ago, sent_lately, never_sent = (
        _outbox(old, True),
        _outbox(recent, True),
        _outbox(old, False),
    )
    redriven, waiting = _letter(old), _letter(None)
    async with transaction(sessions) as session:
        for row in (
            old_receipt,
            new_receipt,
            sent_long_ago,
            sent_lately,
            never_sent,
            redriven,
            waiting,
        ):
            session.add(row)
    removed = await prune_once(sessions)
    assert removed == {"receipts": 1, "published_outbox": 1, "redriven_dead_letters": 1}
    async with sessions() as session:
        receipts = (await session.exec(select(MessageReceipt.message_id))).all()
        outbox = (await session.exec(select(OutboxMessage.id))).all()
        letters = (await session.exec(select(DeadLetter.message_id))).all()
    assert receipts == [new_receipt.message_id]
    # Unpublished rows are never pruned: the relay still owes their delivery.
    assert set(outbox) == {sent_lately.id, never_sent.id}
    assert letters == [waiting.message_id]


async def test_each_ledger_size_is_measured_into_its_gauges(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(sessions) as session:
        for _ in range(40):
            session.add(MessageReceipt(consumer="c", message_id=uuid.uuid4(), message_name="x"))
    async with transaction(sessions) as session:
        await session.exec(text("ANALYZE message_receipt"))  # type: ignore[call-overload]
        count = (await session.exec(select(func.count()).select_from(MessageReceipt))).one()
    sizes = await measure(sessions)
    assert set(sizes) == set(MEASURED)
    rows, size = sizes["message_receipt"]
    assert rows == count and count >= 40
    assert size > 0
    labels = {"table": "message_receipt"}
    assert REGISTRY.get_sample_value("crisiswatch_ledger_rows", labels) == count
    assert REGISTRY.get_sample_value("crisiswatch_ledger_bytes", labels) == size


def test_retention_is_the_operators_setting() -> None:
    settings = Settings(
        retention_receipts_days=3,
        retention_published_outbox_days=5,
        retention_redriven_dead_letters_days=9,
    )
    assert Retention.from_settings(settings) == Retention(
        receipts=timedelta(days=3),
        published_outbox=timedelta(days=5),
        redriven_dead_letters=timedelta(days=9),
    )
    # A published outbox row must outlive the day in which its delivery may be confirmed.
    with pytest.raises(ValidationError, match="retention_published_outbox_days"):
        Settings(retention_published_outbox_days=1)
