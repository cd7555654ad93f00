"""analysis: mentions by influence read in an index's order instead of sorting them all

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 19:00:00
"""

from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"


def upgrade() -> None:
    # The mention list by influence walks the analysed mentions in (influence, id) order
    # from its cursor (gateway.core.pagination.OuterKey) instead of sorting every mention.
    op.create_index(
        "ix_mention_analysis_org_influence",
        "mention_analysis",
        ["organization_id", "influence", "mention_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_mention_analysis_org_influence", table_name="mention_analysis")
