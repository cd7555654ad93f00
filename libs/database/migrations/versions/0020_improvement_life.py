"""incidents: improvement actions get an owner person, a status history and deadlines

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 16:00:00
"""

from alembic import op

from libs.database import ddl
from libs.database.ddl import at, text, uuid

revision: str = "0020"
down_revision: str | None = "0019"


def upgrade() -> None:
    ddl.add_columns(
        "improvement_action",
        uuid("owner_person_id", nullable=True, refers_to="person"),
        text("status_reason", 2000, nullable=True),
        at("status_changed_at", nullable=True),
        text("status_changed_by", 200, nullable=True),
        at("done_at", nullable=True),
        at("overdue_at", nullable=True),
    )
    op.create_index(
        op.f("ix_improvement_action_owner_person_id"),
        "improvement_action",
        ["owner_person_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_improvement_action_owner_person_id"), table_name="improvement_action")
    ddl.drop_columns(
        "improvement_action",
        "owner_person_id",
        "status_reason",
        "status_changed_at",
        "status_changed_by",
        "done_at",
        "overdue_at",
    )
