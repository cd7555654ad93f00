"""incidents: index the references to people and the incident an applied signal names

Every foreign key is indexed on its leading columns, so deleting a person, an incident or an
organization never scans the tables that point at it (`tests/test_foreign_key_indexes.py`).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 15:30:00
"""

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"

INDEXED = (
    ("applied_signal", "incident_id"),
    ("incident_member", "person_id"),
    ("statement", "created_by_person_id"),
    ("statement", "revised_by_person_id"),
    ("statement_review", "person_id"),
    ("timeline_event", "person_id"),
)


def upgrade() -> None:
    for table, column in INDEXED:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def downgrade() -> None:
    for table, column in INDEXED:
        op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)
