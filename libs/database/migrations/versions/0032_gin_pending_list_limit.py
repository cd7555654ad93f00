"""GIN indexes: a larger pending list, emptied by the workers' loop rather than by inserts

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 06:00:00
"""

from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"

# `GIN_PENDING_LIST_LIMIT_KB` (libs/database/tables/_types.py) when this was written: a
# migration keeps its own figure, so changing the constant later needs a migration of its own.
_LIMIT_KB = 32768
_INDEXES = ("ix_mention_text_bigrams", "ix_mention_analysis_watchlists")


def upgrade() -> None:
    for index in _INDEXES:
        op.execute(f"ALTER INDEX {index} SET (gin_pending_list_limit = {_LIMIT_KB})")


def downgrade() -> None:
    for index in _INDEXES:
        op.execute(f"ALTER INDEX {index} RESET (gin_pending_list_limit)")
