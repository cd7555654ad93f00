"""analysis: watch rules, sensitive-term lexicons, stories, watchlist hits, forecasts

Columns added to tables that already hold rows get a server default, and existing rows
are backfilled: a watchlist's query becomes the OR of its keywords, and an analysis
takes its mention's posting time.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 07:05:29.988489
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

from libs.database import ddl
from libs.database.ddl import at, jsonb, strings, text, uuid

revision: str = "0002"
down_revision: str | None = "0001"


def upgrade() -> None:
    ddl.create_owned_table(
        "sensitive_term",
        text("term", 50),
        text("category", 16),
        sa.Column("weight", sa.Float(), nullable=False),
        at("updated_at"),
        sa.UniqueConstraint("organization_id", "term"),
    )
    ddl.create_owned_table(
        "story",
        text("title", 300),
        uuid("first_mention_id", child_of="mention"),
        uuid("first_author_id", nullable=True, refers_to="author"),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.Column("mention_count", sa.Integer(), nullable=False),
        at("started_at"),
        at("last_posted_at"),
        at("created_at"),
    )
    ddl.index("ix_story_org_last_posted", "story", ["organization_id", "last_posted_at", "id"])
    ddl.create_table(
        "watchlist_hit",
        uuid("watchlist_id", child_of="watchlist"),
        at("posted_at"),
        uuid("mention_id", child_of="mention"),
        uuid("organization_id", child_of="organization"),
        uuid("author_id", nullable=True),
        text("author_handle", 200, nullable=True),
        text("author_kind", 8),
        sa.Column("followers", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("influence", sa.Float(), nullable=False),
        text("sentiment", 8),
        sa.Column("sensitive_score", sa.Float(), nullable=False),
        strings("sensitive_terms"),
        text("crisis_type", 32, nullable=True),
        strings("crisis_evidence"),
        uuid("story_id", nullable=True),
        text("source", 16),
        sa.PrimaryKeyConstraint("watchlist_id", "posted_at", "mention_id"),
        indexed=["organization_id"],
    )
    ddl.create_table(
        "story_band",
        uuid("organization_id", child_of="organization"),
        sa.Column("band_key", sa.BigInteger(), nullable=False),
        uuid("story_id", child_of="story"),
        sa.PrimaryKeyConstraint("organization_id", "band_key"),
    )
    ddl.add_columns(
        "mention_analysis",
        at("posted_at", nullable=True),
        sa.Column("sentiment_probability", sa.Float(), nullable=False, server_default="0"),
        sa.Column(
            "sentiment_evidence", postgresql.ARRAY(sa.String()), nullable=False, server_default="{}"
        ),
        sa.Column("hashtags", postgresql.ARRAY(sa.String()), nullable=False, server_default="{}"),
        sa.Column("sensitive_score", sa.Float(), nullable=False, server_default="0"),
        sa.Column(
            "sensitive_hits",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            server_default="[]",
        ),
        text("crisis_type", 32, nullable=True),
        sa.Column("crisis_confidence", sa.Float(), nullable=False, server_default="0"),
        sa.Column(
            "crisis_evidence", postgresql.ARRAY(sa.String()), nullable=False, server_default="{}"
        ),
        uuid("story_id", nullable=True),
        uuid("parent_mention_id", nullable=True),
        sa.Column("influence", sa.Float(), nullable=False, server_default="0"),
        sa.Column("amplifier", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    ddl.index("ix_mention_analysis_story_posted", "mention_analysis", ["story_id", "posted_at"])
    op.create_foreign_key(
        "fk_mention_analysis_story",
        "mention_analysis",
        "story",
        ["story_id"],
        ["id"],
        ondelete="SET NULL",
    )
    ddl.add_columns(
        "risk_signal",
        text("crisis_type", 32, nullable=True),
        uuid("story_id", nullable=True),
        jsonb("forecast", nullable=True),
    )
    op.create_foreign_key(
        "fk_risk_signal_story", "risk_signal", "story", ["story_id"], ["id"], ondelete="SET NULL"
    )
    ddl.add_columns(
        "watchlist",
        sa.Column(
            "query",
            sqlmodel.sql.sqltypes.AutoString(length=10000),
            nullable=False,
            server_default="",
        ),
        at("last_spike_at", nullable=True),
        sa.Column("last_spike_count", sa.Integer(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
    )
    op.execute(
        """
        UPDATE watchlist SET query = (
            SELECT coalesce(string_agg('"' || replace(replace(k, '\\', '\\\\'), '"', '\\"') || '"',
                                       ' | '), '')
            FROM unnest(keywords) AS k
        )
        """
    )
    op.execute(
        "UPDATE mention_analysis a SET posted_at = m.posted_at FROM mention m "
        "WHERE m.id = a.mention_id"
    )


def downgrade() -> None:
    ddl.drop_columns(
        "watchlist",
        "updated_at",
        "last_spike_count",
        "last_spike_at",
        "query",
    )
    op.drop_constraint("fk_risk_signal_story", "risk_signal", type_="foreignkey")
    ddl.drop_columns(
        "risk_signal",
        "forecast",
        "story_id",
        "crisis_type",
    )
    op.drop_constraint("fk_mention_analysis_story", "mention_analysis", type_="foreignkey")
    op.drop_index("ix_mention_analysis_story_posted", table_name="mention_analysis")
    ddl.drop_columns(
        "mention_analysis",
        "amplifier",
        "influence",
        "parent_mention_id",
        "story_id",
        "crisis_evidence",
        "crisis_confidence",
        "crisis_type",
        "sensitive_hits",
        "sensitive_score",
        "hashtags",
        "sentiment_evidence",
        "sentiment_probability",
        "posted_at",
    )
    op.drop_table("story_band")
    op.drop_table("watchlist_hit")
    op.drop_table("story")
    op.drop_table("sensitive_term")
