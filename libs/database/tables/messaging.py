"""Receipts of handled queue messages, the ledger that makes every handler idempotent.

Each consumer writes its own rows (keyed by consumer name) in the same transaction as the
effects of the message, so a redelivered message finds its receipt and changes nothing.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from libs.database.tables._types import at_field


class MessageReceipt(SQLModel, table=True):
    """Proof that `consumer` has applied message `message_id`."""

    __tablename__ = "message_receipt"
    # The confirmation sweep asks "was this message applied?" by id alone; pruning reads by
    # age.
    __table_args__ = (
        Index("ix_message_receipt_message_id", "message_id"),
        Index("ix_message_receipt_handled_at", "handled_at"),
    )

    consumer: str = Field(primary_key=True, max_length=64)
    message_id: uuid.UUID = Field(primary_key=True)
    message_name: str = Field(max_length=100)
    result: dict[str, Any] | None = Field(default=None, sa_type=JSONB)
    handled_at: datetime = at_field(default_now=True)


class OutboxMessage(SQLModel, table=True):
    """A message written in the same transaction as the change it announces.

    The writer publishes it right after commit; a relay in every process publishes any row
    still unpublished a few seconds later, so a crash between commit and publish loses
    nothing. Consumers are idempotent, so publishing twice is harmless.
    """

    __tablename__ = "outbox_message"
    # The relay's and the confirmation sweep's reads: one producer's recent rows.
    __table_args__ = (Index("ix_outbox_message_producer_created", "producer", "created_at"),)

    id: uuid.UUID = Field(primary_key=True)
    producer: str = Field(max_length=64)
    queue: str = Field(max_length=100)
    job_name: str = Field(max_length=100)
    payload: dict[str, Any] = Field(sa_type=JSONB)
    created_at: datetime = at_field(default_now=True)
    published_at: datetime | None = at_field(nullable=True, index=True)


class DeadLetter(SQLModel, table=True):
    """A message whose handler failed for a reason retrying cannot fix (a bug, bad data).

    Kept with its payload and error until an operator re-drives it (`crisiswatch jobs
    redrive`) once the cause is fixed; nothing a worker could not apply is silently gone.
    """

    __tablename__ = "dead_letter"
    __table_args__ = (Index("ix_dead_letter_message_id", "message_id"),)

    consumer: str = Field(primary_key=True, max_length=64)
    message_id: uuid.UUID = Field(primary_key=True)
    queue: str = Field(max_length=100)
    job_name: str = Field(max_length=100)
    organization_id: uuid.UUID | None = Field(default=None, index=True)
    payload: dict[str, Any] = Field(sa_type=JSONB)
    error: str = Field(max_length=4000)
    tries: int = 1
    failed_at: datetime = at_field(default_now=True)
    redriven_at: datetime | None = at_field(nullable=True)
