"""incidents: on-call rotas per role with overrides, pages; organizations get a time zone

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 17:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlmodel.sql.sqltypes import AutoString

from libs.database import ddl
from libs.database.ddl import at, text, uuid

revision: str = "0021"
down_revision: str | None = "0020"

# Where the organizations the product was first built for are; a rota's hand-off is local.
ZONE = "Asia/Shanghai"


def upgrade() -> None:
    op.add_column(
        "organization",
        sa.Column("time_zone", AutoString(length=64), nullable=False, server_default=ZONE),
    )
    ddl.create_owned_table(
        "rota",
        text("role", 24),
        sa.Column("people", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("handoff_weekday", sa.Integer(), nullable=False),
        sa.Column("handoff_time", sa.Time(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        text("updated_by", 200),
        at("created_at"),
        at("updated_at"),
        sa.UniqueConstraint("organization_id", "role"),
    )
    ddl.create_owned_table(
        "rota_override",
        uuid("rota_id", child_of="rota"),
        uuid("person_id", refers_to="person"),
        at("starts_at"),
        at("ends_at"),
        text("reason", 500, nullable=True),
        text("created_by", 200),
        at("created_at"),
        indexed=["rota_id", "person_id"],
    )
    ddl.create_owned_table(
        "page",
        uuid("person_id", refers_to="person"),
        uuid("incident_id", child_of="incident"),
        uuid("task_id", nullable=True, child_of="response_task"),
        text("role", 24),
        text("reason", 24),
        text("key", 120),
        at("paged_at"),
        at("acknowledged_at", nullable=True),
        text("acknowledged_by", 200, nullable=True),
        sa.UniqueConstraint("incident_id", "key"),
        indexed=["person_id", "task_id"],
    )


def downgrade() -> None:
    op.drop_table("page")
    op.drop_table("rota_override")
    op.drop_table("rota")
    op.drop_column("organization", "time_zone")
