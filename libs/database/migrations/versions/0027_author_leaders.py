"""analysis: each day's leading authors by an index; an author's mentions by time

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 19:40:00
"""

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"

_FIGURES = ("mention_count", "negative_count", "reach")


def upgrade() -> None:
    # A window's top authors read each day's leaders (gateway.authors.leaders).
    for figure in _FIGURES:
        op.create_index(
            f"ix_author_day_rollup_{figure}",
            "author_day_rollup",
            ["organization_id", "day", figure, "author_id"],
        )
    # Their exact figures read each author's mentions of the window's part-days; the
    # foreign key on `mention.author_id` keeps its index as this one's leading column.
    op.create_index("ix_mention_author_posted", "mention", ["author_id", "posted_at"])
    op.drop_index("ix_mention_author_id", table_name="mention")


def downgrade() -> None:
    op.create_index("ix_mention_author_id", "mention", ["author_id"])
    op.drop_index("ix_mention_author_posted", table_name="mention")
    for figure in _FIGURES:
        op.drop_index(f"ix_author_day_rollup_{figure}", table_name="author_day_rollup")
