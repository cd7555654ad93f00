"""rollups: counts per bucket and per author kept as mentions are analysed; text search index

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 12:00:00

Creates the rollup tables and fills them from the analyses already stored (the same
grouping `libs.database.rollups` applies, written out here so this revision never changes),
an index on `mention_analysis (organization_id, posted_at)`, one for the stories a
watchlist matched, one for the author list by followers, and the text search index: every
two-character piece of a mention's text (`text_bigrams`), in a GIN index that
`textContains` filters narrow through.
"""

import sqlalchemy as sa
from alembic import op

from libs.database import ddl
from libs.database.ddl import at, text

revision: str = "0010"
down_revision: str | None = "0009"

EVERY_MENTION = "00000000-0000-0000-0000-000000000000"


def _counter(name: str) -> ddl.Column:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def _organization() -> ddl.Column:
    return ddl.uuid("organization_id", child_of="organization")


def _author_figures() -> list[ddl.Column]:
    return [
        _counter("mention_count"),
        _counter("negative_count"),
        _counter("reach"),
        _counter("engagement"),
        sa.Column("influence", sa.Float(), nullable=False),
        at("last_posted_at"),
    ]


def upgrade() -> None:
    op.create_table(
        "mention_rollup",
        _organization(),
        ddl.uuid("watchlist_id"),
        sa.Column("grain_seconds", sa.SmallInteger(), nullable=False),
        at("bucket_at"),
        text("source", 16),
        _counter("positive"),
        _counter("neutral"),
        _counter("negative"),
        sa.Column("sentiment_score_sum", sa.Float(), nullable=False),
        _counter("reach"),
        _counter("engagement"),
        sa.PrimaryKeyConstraint(
            "organization_id", "watchlist_id", "grain_seconds", "bucket_at", "source"
        ),
    )
    op.create_table(
        "author_day_rollup",
        _organization(),
        ddl.uuid("author_id"),
        sa.Column("day", sa.Date(), nullable=False),
        *_author_figures(),
        sa.PrimaryKeyConstraint("organization_id", "author_id", "day"),
    )
    op.create_table(
        "author_rollup",
        _organization(),
        ddl.uuid("author_id"),
        *_author_figures(),
        sa.PrimaryKeyConstraint("organization_id", "author_id"),
    )
    ddl.index(
        "ix_mention_rollup_org_grain_bucket",
        "mention_rollup",
        ["organization_id", "grain_seconds", "bucket_at"],
    )
    ddl.index("ix_author_day_rollup_org_day", "author_day_rollup", ["organization_id", "day"])
    for name, column in (
        ("mentions", "mention_count"),
        ("negative", "negative_count"),
        ("reach", "reach"),
        ("engagement", "engagement"),
        ("influence", "influence"),
        ("last_posted", "last_posted_at"),
    ):
        ddl.index(
            f"ix_author_rollup_{name}", "author_rollup", ["organization_id", column, "author_id"]
        )
    ddl.index(
        "ix_mention_analysis_org_posted", "mention_analysis", ["organization_id", "posted_at"]
    )
    ddl.index("ix_author_org_followers", "author", ["organization_id", "followers", "id"])
    ddl.index("ix_watchlist_hit_watchlist_story", "watchlist_hit", ["watchlist_id", "story_id"])
    # Every two-character piece of the lowered text: the pairs at even offsets, then those
    # at odd ones, each cut by a regular expression in one pass (`substr` at each offset
    # walks the UTF-8 string from its start: quadratic, 6x slower on a Weibo post). A text
    # holding U+0001, the cut mark, loses the pieces around it.
    op.execute(
        r"""
        CREATE FUNCTION text_bigrams(value text) RETURNS text[]
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        RETURN (string_to_array(regexp_replace(lower(value), '(..)', '\1' || chr(1), 'g'),
                                chr(1)))[1:char_length(value) / 2]
            || (string_to_array(regexp_replace(substr(lower(value), 2), '(..)', '\1' || chr(1),
                                               'g'), chr(1)))[1:(char_length(value) - 1) / 2]
        """
    )
    op.execute("CREATE INDEX ix_mention_text_bigrams ON mention USING gin (text_bigrams(text))")
    _fill()


def _fill() -> None:
    """Count the analyses stored before this revision, as the analysis service now does."""
    op.execute(
        f"""
        INSERT INTO mention_rollup
        SELECT m.organization_id, w.watchlist_id, g.grain,
               date_bin(make_interval(secs => g.grain), m.posted_at,
                        TIMESTAMPTZ '2000-01-03 00:00:00+00'),
               m.source,
               count(*) FILTER (WHERE a.sentiment = 'positive'),
               count(*) FILTER (WHERE a.sentiment = 'neutral'),
               count(*) FILTER (WHERE a.sentiment = 'negative'),
               sum(a.sentiment_score), sum(m.views::bigint),
               sum(m.reposts::bigint + m.comments + m.likes)
        FROM mention m
        JOIN mention_analysis a ON a.mention_id = m.id
        CROSS JOIN LATERAL (
            SELECT DISTINCT unnest(a.watchlist_ids || '{EVERY_MENTION}'::uuid) AS watchlist_id
        ) w
        CROSS JOIN (VALUES (60), (900), (3600)) AS g(grain)
        GROUP BY 1, 2, 3, 4, 5
        """
    )
    op.execute(
        """
        INSERT INTO author_day_rollup
        SELECT m.organization_id, m.author_id, (m.posted_at AT TIME ZONE 'UTC')::date,
               count(*), count(*) FILTER (WHERE a.sentiment = 'negative'),
               sum(m.views::bigint), sum(m.reposts::bigint + m.comments + m.likes),
               max(a.influence), max(m.posted_at)
        FROM mention m
        JOIN mention_analysis a ON a.mention_id = m.id
        WHERE m.author_id IS NOT NULL
        GROUP BY 1, 2, 3
        """
    )
    op.execute(
        """
        INSERT INTO author_rollup
        SELECT organization_id, author_id, sum(mention_count), sum(negative_count), sum(reach),
               sum(engagement), max(influence), max(last_posted_at)
        FROM author_day_rollup
        GROUP BY organization_id, author_id
        """
    )


def downgrade() -> None:
    op.drop_index("ix_mention_text_bigrams", table_name="mention")
    op.execute("DROP FUNCTION text_bigrams(text)")
    op.drop_index("ix_watchlist_hit_watchlist_story", table_name="watchlist_hit")
    op.drop_index("ix_author_org_followers", table_name="author")
    op.drop_index("ix_mention_analysis_org_posted", table_name="mention_analysis")
    op.drop_table("author_rollup")
    op.drop_table("author_day_rollup")
    op.drop_table("mention_rollup")
