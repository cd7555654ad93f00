"""ingest: a mention's text is stored once; its normalised form is derived where it is read

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 18:45:00
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"


def upgrade() -> None:
    # `libs.text.normalize(text)` is a pure function of the text, recomputed by analysis
    # in microseconds; stored, it was a second copy of every post (about 250 bytes).
    op.drop_column("mention", "text_normalized")


def downgrade() -> None:
    # Filled with the text itself: the migration cannot run Python's normaliser in SQL, and
    # analysis reads `text` once this revision is gone anyway.
    op.add_column("mention", sa.Column("text_normalized", sa.Text(), nullable=True))
    op.execute("UPDATE mention SET text_normalized = text")
    op.alter_column("mention", "text_normalized", nullable=False)
