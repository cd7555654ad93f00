"""Receipts that make handlers idempotent: claim a message inside the handler's transaction."""

import uuid
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import MessageReceipt
from libs.messaging.sealing import withhold


class AlreadyHandled(Exception):
    """The message was applied before; `result` is what the first handling answered."""

    def __init__(self, result: dict[str, Any] | None) -> None:
        super().__init__("message already handled")
        self.result = result


async def claim(session: AsyncSession, consumer: str, message_id: uuid.UUID, name: str) -> None:
    """Record that `consumer` handles this message now, or raise `AlreadyHandled`.

    Runs in the handler's transaction: if the handler fails, the receipt rolls back with its
    effects and a retry handles the message afresh. Two concurrent deliveries serialize on
    the primary key, and the loser sees the winner's receipt.
    """
    inserted = await session.exec(
        insert(MessageReceipt)
        .values(consumer=consumer, message_id=message_id, message_name=name)
        .on_conflict_do_nothing()
        .returning(col(MessageReceipt.message_id))
    )
    if inserted.first() is None:
        existing = await session.exec(
            select(MessageReceipt.result).where(
                col(MessageReceipt.consumer) == consumer,
                col(MessageReceipt.message_id) == message_id,
            )
        )
        stored = existing.one_or_none()
        raise AlreadyHandled(dict(stored) if stored is not None else None)


async def store_result(
    session: AsyncSession, consumer: str, message_id: uuid.UUID, result: dict[str, Any]
) -> None:
    """Keep a command's answer so a redelivery replays it instead of acting again.

    What the answer showed once (a new secret) is not kept: receipts live a week in a
    plain column, so the kept answer names those values in `withheld`, and a replay says
    they cannot be shown again instead of minting new ones.
    """
    receipt = await session.get(MessageReceipt, (consumer, message_id))
    if receipt is not None:
        receipt.result = withhold(result)
        session.add(receipt)
