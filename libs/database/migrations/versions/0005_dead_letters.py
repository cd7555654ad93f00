"""messaging: dead letters, and the indexes the relay, confirmation and pruning read by

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 04:24:49
"""

import sqlalchemy as sa
from alembic import op

from libs.database import ddl
from libs.database.ddl import at, jsonb, text, uuid

revision: str = "0005"
down_revision: str | None = "0004"


def upgrade() -> None:
    ddl.create_table(
        "dead_letter",
        text("consumer", 64),
        uuid("message_id"),
        text("queue", 100),
        text("job_name", 100),
        uuid("organization_id", nullable=True),
        jsonb("payload"),
        text("error", 4000),
        sa.Column("tries", sa.Integer(), nullable=False),
        at("failed_at"),
        at("redriven_at", nullable=True),
        sa.PrimaryKeyConstraint("consumer", "message_id"),
        indexed=["organization_id"],
    )
    ddl.index("ix_dead_letter_message_id", "dead_letter", ["message_id"])
    ddl.index("ix_message_receipt_message_id", "message_receipt", ["message_id"])
    ddl.index("ix_message_receipt_handled_at", "message_receipt", ["handled_at"])
    ddl.index("ix_outbox_message_producer_created", "outbox_message", ["producer", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_message_producer_created", table_name="outbox_message")
    op.drop_index("ix_message_receipt_handled_at", table_name="message_receipt")
    op.drop_index("ix_message_receipt_message_id", table_name="message_receipt")
    op.drop_table("dead_letter")
