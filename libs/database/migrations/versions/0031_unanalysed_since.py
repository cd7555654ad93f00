"""gateway: where an organization's mentions may still be waiting for analysis, as a function

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 00:30:00
"""

from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"


def upgrade() -> None:
    # The organization's reconciler mark less `margin` (or -infinity without one): the time
    # from which a mention may be neither analysed nor tried (`libs.database.unanalysed`).
    # PL/pgSQL and STABLE, so the planner evaluates it while choosing a plan and sees a
    # range of minutes on `ix_mention_org_ingested`; as a subquery its value was unknown to
    # the planner, which took it for a third of the organization's mentions and scanned
    # them all (past the statement timeout at ten million).
    op.execute(
        """
        CREATE FUNCTION unanalysed_since(of_organization uuid, margin interval)
        RETURNS timestamptz
        LANGUAGE plpgsql STABLE PARALLEL SAFE
        AS $$
        BEGIN
            RETURN coalesce(
                (SELECT unanalysed_checked_until FROM organization WHERE id = of_organization)
                    - margin,
                '-infinity'::timestamptz);
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION unanalysed_since(uuid, interval)")
