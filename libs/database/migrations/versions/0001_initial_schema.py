"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 06:30:15.266015
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from libs.database import ddl
from libs.database.ddl import at, jsonb, strings, text, uuid

revision: str = "0001"
down_revision: str | None = None


def upgrade() -> None:
    ddl.create_table(
        "message_receipt",
        text("consumer", 64),
        uuid("message_id"),
        text("message_name", 100),
        jsonb("result", nullable=True),
        at("handled_at"),
        sa.PrimaryKeyConstraint("consumer", "message_id"),
    )
    ddl.create_table(
        "organization",
        uuid("id"),
        text("slug", 64),
        text("name", 200),
        at("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    ddl.create_table(
        "outbox_message",
        uuid("id"),
        text("producer", 64),
        text("queue", 100),
        text("job_name", 100),
        jsonb("payload"),
        at("created_at"),
        at("published_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
        indexed=["published_at"],
    )
    ddl.create_owned_table(
        "api_key",
        text("name", 200),
        text("role", 16),
        text("prefix", 32),
        text("key_hash", 64),
        at("created_at"),
        at("revoked_at", nullable=True),
        sa.UniqueConstraint("prefix"),
    )
    ddl.create_owned_table(
        "author",
        text("source", 16),
        text("handle", 200),
        sa.Column("followers", sa.Integer(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        text("kind", 8),
        at("updated_at"),
        sa.UniqueConstraint("organization_id", "source", "handle"),
    )
    ddl.create_owned_table(
        "watchlist",
        text("name", 200),
        strings("keywords"),
        text("current_tier", 8, nullable=True),
        at("tier_changed_at", nullable=True),
        at("created_at"),
        sa.UniqueConstraint("organization_id", "name"),
    )
    ddl.create_owned_table(
        "mention",
        text("source", 16),
        text("external_id", 200),
        text("text"),
        text("text_normalized"),
        text("content_hash", 64),
        text("url", 2000, nullable=True),
        at("posted_at"),
        uuid("author_id", nullable=True, refers_to="author"),
        sa.Column("reposts", sa.Integer(), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.Column("likes", sa.Integer(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        text("repost_of", 200, nullable=True),
        at("ingested_at"),
        sa.UniqueConstraint("organization_id", "source", "external_id"),
        indexed=["content_hash"],
    )
    ddl.index("ix_mention_org_ingested", "mention", ["organization_id", "ingested_at"])
    ddl.index("ix_mention_org_posted", "mention", ["organization_id", "posted_at", "id"])
    ddl.create_owned_table(
        "risk_signal",
        uuid("watchlist_id", child_of="watchlist"),
        text("tier", 8),
        sa.Column("score", sa.Float(), nullable=False),
        jsonb("components"),
        strings("reasons"),
        sa.Column("top_mention_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        at("window_start"),
        at("window_end"),
        at("created_at"),
    )
    ddl.index("ix_risk_signal_watchlist_created", "risk_signal", ["watchlist_id", "created_at"])
    ddl.create_owned_table(
        "incident",
        uuid("watchlist_id", child_of="watchlist"),
        text("title", 300),
        text("tier", 8),
        text("status", 16),
        at("detected_at"),
        at("acknowledged_at", nullable=True),
        text("acknowledged_by", 200, nullable=True),
        uuid("last_signal_id", nullable=True, refers_to="risk_signal"),
        at("created_at"),
        at("updated_at"),
    )
    ddl.index("ix_incident_org_detected", "incident", ["organization_id", "detected_at", "id"])
    op.create_index(
        "uq_incident_open_per_watchlist",
        "incident",
        ["watchlist_id"],
        unique=True,
        postgresql_where=sa.text("status NOT IN ('resolved', 'closed', 'merged', 'false_alarm')"),
    )
    ddl.create_table(
        "mention_analysis",
        uuid("mention_id", child_of="mention"),
        uuid("organization_id", child_of="organization"),
        text("sentiment", 8),
        sa.Column("sentiment_score", sa.Float(), nullable=False),
        strings("tokens"),
        sa.Column("watchlist_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        strings("matched_keywords"),
        at("analyzed_at"),
        sa.PrimaryKeyConstraint("mention_id"),
        indexed=["organization_id"],
    )
    ddl.index(
        "ix_mention_analysis_org_sentiment", "mention_analysis", ["organization_id", "sentiment"]
    )
    ddl.index(
        "ix_mention_analysis_watchlists",
        "mention_analysis",
        ["watchlist_ids"],
        postgresql_using="gin",
    )
    ddl.create_owned_table(
        "response_task",
        uuid("incident_id", child_of="incident"),
        text("kind", 32),
        text("title", 300),
        sa.Column("position", sa.Integer(), nullable=False),
        at("due_at"),
        text("status", 16),
        at("completed_at", nullable=True),
        at("created_at"),
        sa.UniqueConstraint("incident_id", "kind"),
        indexed=["incident_id"],
    )
    ddl.create_owned_table(
        "timeline_event",
        uuid("incident_id", child_of="incident"),
        text("kind", 32),
        text("message"),
        text("actor", 200),
        jsonb("data"),
        at("occurred_at"),
    )
    ddl.index("ix_timeline_event_incident_at", "timeline_event", ["incident_id", "occurred_at"])


def downgrade() -> None:
    op.drop_table("timeline_event")
    op.drop_table("response_task")
    op.drop_table("mention_analysis")
    op.drop_table("incident")
    op.drop_table("risk_signal")
    op.drop_table("mention")
    op.drop_table("watchlist")
    op.drop_table("author")
    op.drop_table("api_key")
    op.drop_table("outbox_message")
    op.drop_table("organization")
    op.drop_table("message_receipt")
