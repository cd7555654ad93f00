"""analysis: a watchlist has a kind (own brand, product line, competitor, industry)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 16:30:00
"""

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0023"
down_revision: str | None = "0022"


def upgrade() -> None:
    # Every watchlist made before kinds existed watched the organization itself.
    op.add_column(
        "watchlist",
        sa.Column("kind", AutoString(length=16), nullable=False, server_default="own_brand"),
    )


def downgrade() -> None:
    op.drop_column("watchlist", "kind")
