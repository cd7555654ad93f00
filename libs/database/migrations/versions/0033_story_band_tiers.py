"""analysis: band keys in two tiers, a quarter kept for a month and the rest for a day

Splits the existing keys in place by value (`libs.story_bands.is_lasting`): the long-kept
quarter stays in `story_band`, which is rebuilt so that its index is a quarter the size
rather than three quarters dead; the rest move to `story_band_recent` for the stories
posted to in the last day of their organization's clock (the first release pass would
delete the others anyway; with `RETENTION_STORY_BANDS_RECENT_HOURS` set longer than a day,
a story quiet for more than a day gets its recent keys back at its next copy).

`story_band` is locked outright first (ACCESS EXCLUSIVE, which the rebuild's TRUNCATE needs
anyway): taken later, after lookups of the previous release's workers, the upgrade would
deadlock with their claims. So no key claimed meanwhile is lost, and analysis batches of
the previous release wait for the migration, or time out and are retried: 4 minutes at
10 M mentions (docs/scale.md#two-tiers-of-band-keys).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 08:00:00
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"

# `LASTING_SHARE` and the default `RETENTION_STORY_BANDS_RECENT_HOURS` when this was written.
_SHARE = 4
_RECENT = "24 hours"


def upgrade() -> None:
    op.execute("LOCK TABLE story_band IN ACCESS EXCLUSIVE MODE")
    op.create_table(
        "story_band_recent",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("band_key", sa.BigInteger(), nullable=False),
        sa.Column("story_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["story_id"], ["story.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("organization_id", "band_key"),
    )
    op.execute(
        f"""
        INSERT INTO story_band_recent (organization_id, band_key, story_id)
        SELECT b.organization_id, b.band_key, b.story_id
        FROM story_band b
        JOIN story s ON s.id = b.story_id
        JOIN (
            SELECT organization_id, least(max(last_posted_at), now()) AS clock
            FROM story GROUP BY organization_id
        ) c ON c.organization_id = b.organization_id
        WHERE b.band_key % {_SHARE} <> 0
          AND s.last_posted_at >= c.clock - INTERVAL '{_RECENT}'
        ORDER BY b.organization_id, b.band_key
        """
    )
    op.create_index("ix_story_band_recent_story_id", "story_band_recent", ["story_id"])
    # Rebuilt rather than deleted from: three quarters of a B-tree's entries deleted leave
    # it as large as before until a REINDEX.
    op.execute(
        f"CREATE TEMPORARY TABLE story_band_lasting AS "
        f"SELECT organization_id, band_key, story_id FROM story_band "
        f"WHERE band_key % {_SHARE} = 0"
    )
    op.execute("TRUNCATE story_band")
    op.drop_index("ix_story_band_story_id", table_name="story_band")
    op.execute(
        "INSERT INTO story_band (organization_id, band_key, story_id) "
        "SELECT organization_id, band_key, story_id FROM story_band_lasting "
        "ORDER BY organization_id, band_key"
    )
    op.create_index("ix_story_band_story_id", "story_band", ["story_id"])
    op.execute("DROP TABLE story_band_lasting")
    # Both tables' row counts changed wholesale: plan the lookups on their new sizes now
    # rather than after autovacuum's next look.
    op.execute("ANALYZE story_band")
    op.execute("ANALYZE story_band_recent")


def downgrade() -> None:
    op.execute("LOCK TABLE story_band, story_band_recent IN ACCESS EXCLUSIVE MODE")
    op.execute(
        "INSERT INTO story_band (organization_id, band_key, story_id) "
        "SELECT organization_id, band_key, story_id FROM story_band_recent "
        "ON CONFLICT DO NOTHING"
    )
    op.drop_table("story_band_recent")
