"""incidents: lifecycle, teams, playbooks, snoozes, statements, reply library, affected users,
reviews, improvement actions and integration events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 08:07:22.262649
"""

import sqlalchemy as sa
from alembic import op

from libs.database import ddl
from libs.database.ddl import at, jsonb, text, uuid

revision: str = "0003"
down_revision: str | None = "0002"


def upgrade() -> None:
    ddl.create_owned_table(
        "playbook",
        text("tier", 8),
        text("crisis_type", 32),
        jsonb("team"),
        jsonb("tasks"),
        at("updated_at"),
        sa.UniqueConstraint("organization_id", "tier", "crisis_type"),
    )
    ddl.create_owned_table(
        "watchlist_snooze",
        uuid("watchlist_id", child_of="watchlist"),
        at("until"),
        text("reason", 2000),
        text("actor", 200),
        at("created_at"),
    )
    ddl.index("ix_watchlist_snooze_watchlist_until", "watchlist_snooze", ["watchlist_id", "until"])
    ddl.create_owned_table(
        "affected_user",
        uuid("incident_id", child_of="incident"),
        text("name_masked", 200),
        text("contact_kind", 16),
        text("contact_masked", 200),
        sa.Column("contact_cipher", sa.LargeBinary(), nullable=False),
        text("created_by", 200),
        at("created_at"),
        indexed=["incident_id"],
    )
    ddl.create_owned_table(
        "improvement_action",
        uuid("incident_id", child_of="incident"),
        uuid("watchlist_id", child_of="watchlist"),
        text("action", 2000),
        text("owner", 200),
        text("status", 16),
        at("due_at", nullable=True),
        uuid("reopened_by_incident_id", nullable=True, refers_to="incident"),
        at("created_at"),
        indexed=["incident_id"],
    )
    ddl.create_owned_table(
        "incident_member",
        uuid("incident_id", child_of="incident"),
        text("role", 24),
        text("person", 200),
        text("assigned_by", 200),
        at("assigned_at"),
        sa.UniqueConstraint("incident_id", "role", "person"),
        indexed=["incident_id"],
    )
    ddl.create_owned_table(
        "integration_event",
        text("type", 32),
        uuid("incident_id", nullable=True, refers_to="incident"),
        jsonb("payload"),
        at("occurred_at"),
    )
    ddl.index(
        "ix_integration_event_org_at", "integration_event", ["organization_id", "occurred_at"]
    )
    ddl.create_owned_table(
        "key_fact",
        uuid("incident_id", child_of="incident"),
        text("label", 200),
        text("value", 2000),
        at("created_at"),
        sa.UniqueConstraint("incident_id", "label"),
    )
    ddl.create_owned_table(
        "reply_case",
        uuid("incident_id", nullable=True, refers_to="incident"),
        uuid("mention_id", nullable=True, refers_to="mention"),
        text("category", 64),
        text("text"),
        text("reply"),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        text("created_by", 200),
        at("created_at"),
    )
    ddl.create_owned_table(
        "review_report",
        uuid("incident_id", child_of="incident"),
        text("status", 16),
        jsonb("sections"),
        text("root_cause", nullable=True),
        at("completed_at", nullable=True),
        text("completed_by", 200, nullable=True),
        at("created_at"),
        at("updated_at"),
        sa.UniqueConstraint("incident_id"),
    )
    ddl.create_owned_table(
        "statement",
        uuid("incident_id", child_of="incident"),
        text("channel", 16),
        text("body"),
        text("status", 16),
        sa.Column("review_level", sa.Integer(), nullable=False),
        sa.Column("legal_approved", sa.Boolean(), nullable=False),
        jsonb("flags"),
        text("published_url", 2000, nullable=True),
        at("published_at", nullable=True),
        text("created_by", 200),
        at("created_at"),
        at("updated_at"),
    )
    ddl.index("ix_statement_incident", "statement", ["incident_id", "created_at"])
    ddl.create_owned_table(
        "follow_up_task",
        uuid("affected_user_id", child_of="affected_user"),
        uuid("incident_id", child_of="incident"),
        text("kind", 16),
        text("status", 16),
        at("due_at", nullable=True),
        sa.Column("amount", sa.Float(), nullable=True),
        text("note", 2000, nullable=True),
        at("completed_at", nullable=True),
        indexed=["affected_user_id"],
    )
    ddl.create_owned_table(
        "statement_review",
        uuid("statement_id", child_of="statement"),
        text("stage", 8),
        text("decision", 8),
        text("reviewer", 200),
        text("note", 2000, nullable=True),
        at("reviewed_at"),
        indexed=["statement_id"],
    )
    ddl.add_columns(
        "incident",
        uuid("story_id", nullable=True),
        text("crisis_type", 32, nullable=True),
        text("status_reason", 2000, nullable=True),
        at("resolved_at", nullable=True),
        at("closed_at", nullable=True),
        uuid("merged_into_id", nullable=True),
        uuid("recurrence_of_id", nullable=True),
        sa.Column("reopened_count", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_foreign_key(
        "fk_incident_merged_into", "incident", "incident", ["merged_into_id"], ["id"]
    )
    op.create_foreign_key(
        "fk_incident_recurrence_of", "incident", "incident", ["recurrence_of_id"], ["id"]
    )
    ddl.add_columns(
        "response_task",
        text("completed_by", 200, nullable=True),
        text("role", 24, nullable=True),
        text("channel", 16, nullable=True),
        at("breached_at", nullable=True),
        text("escalated_to", 24, nullable=True),
    )
    ddl.index(
        "ix_response_task_due_open",
        "response_task",
        ["due_at"],
        postgresql_where=sa.text("status = 'open' AND breached_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_response_task_due_open", table_name="response_task")
    ddl.drop_columns(
        "response_task",
        "escalated_to",
        "breached_at",
        "channel",
        "role",
        "completed_by",
    )
    op.drop_constraint("fk_incident_recurrence_of", "incident", type_="foreignkey")
    op.drop_constraint("fk_incident_merged_into", "incident", type_="foreignkey")
    ddl.drop_columns(
        "incident",
        "reopened_count",
        "recurrence_of_id",
        "merged_into_id",
        "closed_at",
        "resolved_at",
        "status_reason",
        "crisis_type",
        "story_id",
    )
    op.drop_table("statement_review")
    op.drop_table("follow_up_task")
    op.drop_table("statement")
    op.drop_table("review_report")
    op.drop_table("reply_case")
    op.drop_table("key_fact")
    op.drop_table("integration_event")
    op.drop_table("incident_member")
    op.drop_table("improvement_action")
    op.drop_table("affected_user")
    op.drop_table("watchlist_snooze")
    op.drop_table("playbook")
