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
    # The code before this revision reads the stored column. SQL has NFKC and can fold
    # spaces, as `libs.text.normalize` does; it does not strip markup, so a post sent as
    # HTML keeps its tags in the restored column (and in the analysis of any mention not
    # yet analysed when the downgrade ran).
    op.add_column("mention", sa.Column("text_normalized", sa.Text(), nullable=True))
    op.execute(
        "UPDATE mention SET text_normalized = "
        "btrim(regexp_replace(normalize(text, NFKC), '\\s+', ' ', 'g'))"
    )
    op.alter_column("mention", "text_normalized", nullable=False)
