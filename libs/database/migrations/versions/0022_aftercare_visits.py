"""incidents: follow-up visits with owners, deadlines watched, outcomes and feedback;
affected users linked to their complaint

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 16:30:00
"""

import sqlalchemy as sa
from alembic import op

from libs.database import ddl
from libs.database.ddl import at, text, uuid

revision: str = "0022"
down_revision: str | None = "0021"

_FOLLOW_UP_COLUMNS = (
    "visit",
    "owner_person_id",
    "overdue_at",
    "escalated_to_person_id",
    "reached",
    "satisfied",
    "compensation_paid",
    "paid_amount",
    "currency",
    "feedback",
)


def upgrade() -> None:
    ddl.add_columns(
        "affected_user",
        sa.Column(
            "complaint_id",
            sa.Uuid(),
            sa.ForeignKey("complaint.id", ondelete="SET NULL"),
            nullable=True,
        ),
    )
    op.create_index(
        op.f("ix_affected_user_complaint_id"), "affected_user", ["complaint_id"], unique=False
    )
    ddl.add_columns(
        "follow_up_task",
        sa.Column("visit", sa.Integer(), nullable=True),
        uuid("owner_person_id", nullable=True, refers_to="person"),
        at("overdue_at", nullable=True),
        uuid("escalated_to_person_id", nullable=True, refers_to="person"),
        sa.Column("reached", sa.Boolean(), nullable=True),
        sa.Column("satisfied", sa.Boolean(), nullable=True),
        sa.Column("compensation_paid", sa.Boolean(), nullable=True),
        sa.Column("paid_amount", sa.Float(), nullable=True),
        text("currency", 3, nullable=True),
        text("feedback", 4000, nullable=True),
    )
    for column in ("owner_person_id", "escalated_to_person_id"):
        op.create_index(
            op.f(f"ix_follow_up_task_{column}"), "follow_up_task", [column], unique=False
        )
    # Follow-ups already late before the pass existed are marked, not announced: a first pass
    # would otherwise send `follow_up.overdue` for every old one at once.
    op.execute(
        "UPDATE follow_up_task SET overdue_at = due_at WHERE status = 'open' AND due_at < now()"
    )
    # What the follow-up deadline pass reads every few seconds: open tasks not yet marked.
    ddl.index(
        "ix_follow_up_task_due_open",
        "follow_up_task",
        ["due_at"],
        postgresql_where=sa.text("status = 'open' AND overdue_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_follow_up_task_due_open", table_name="follow_up_task")
    for column in ("owner_person_id", "escalated_to_person_id"):
        op.drop_index(op.f(f"ix_follow_up_task_{column}"), table_name="follow_up_task")
    ddl.drop_columns("follow_up_task", *_FOLLOW_UP_COLUMNS)
    op.drop_index(op.f("ix_affected_user_complaint_id"), table_name="affected_user")
    ddl.drop_columns("affected_user", "complaint_id")
