"""people: persons, keys owned by a person or a service account, the append-only audit log

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 12:30:00

Every key that exists becomes a service account named after the key, so it keeps working
exactly as before. Timeline events, team members, statements and reviews gain the person
who acted (null for a service account or the system). `audit_entry` refuses UPDATE and
DELETE in the database itself, whoever connects.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from libs.database import ddl
from libs.database.ddl import at, jsonb, text, uuid

revision: str = "0012"
down_revision: str | None = "0011"

REFUSE_CHANGES = """
CREATE FUNCTION audit_entry_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade() -> None:
    ddl.create_owned_table(
        "person",
        text("name", 200),
        jsonb("contacts"),
        jsonb("chat_handles"),
        at("created_at"),
        at("updated_at"),
        at("deactivated_at", nullable=True),
    )
    ddl.add_columns(
        "api_key",
        uuid("person_id", nullable=True, refers_to="person"),
        text("service_account", 200, nullable=True),
    )
    op.execute("UPDATE api_key SET service_account = name")
    op.create_index(op.f("ix_api_key_person_id"), "api_key", ["person_id"], unique=False)
    op.create_check_constraint(
        "ck_api_key_one_owner", "api_key", "(person_id IS NULL) <> (service_account IS NULL)"
    )
    ddl.add_columns("timeline_event", uuid("person_id", nullable=True, refers_to="person"))
    ddl.add_columns("incident_member", uuid("person_id", nullable=True, refers_to="person"))
    ddl.add_columns(
        "playbook",
        sa.Column("legal_review", sa.Boolean(), nullable=False, server_default="false"),
    )
    ddl.add_columns(
        "statement",
        sa.Column("review_round", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("legal_requested", sa.Boolean(), nullable=False, server_default="false"),
        uuid("created_by_person_id", nullable=True, refers_to="person"),
        uuid("revised_by_person_id", nullable=True, refers_to="person"),
    )
    ddl.add_columns(
        "statement_review",
        uuid("person_id", nullable=True, refers_to="person"),
        sa.Column("review_round", sa.Integer(), nullable=False, server_default="0"),
    )
    for table, column in (
        ("playbook", "legal_review"),
        ("statement", "review_round"),
        ("statement", "legal_requested"),
        ("statement_review", "review_round"),
    ):
        op.alter_column(table, column, server_default=None)
    ddl.create_table(
        "audit_entry",
        uuid("id"),
        uuid("organization_id", refers_to="organization"),
        text("entity_kind", 32),
        uuid("entity_id", nullable=True),
        text("action", 32),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        text("actor", 200),
        uuid("key_id", nullable=True),
        uuid("person_id", nullable=True),
        at("occurred_at"),
        sa.PrimaryKeyConstraint("id"),
        indexed=["person_id"],
    )
    ddl.index("ix_audit_entry_organization_at", "audit_entry", ["organization_id", "occurred_at"])
    ddl.index(
        "ix_audit_entry_organization_kind_at",
        "audit_entry",
        ["organization_id", "entity_kind", "occurred_at"],
    )
    op.execute(REFUSE_CHANGES)
    op.execute(
        "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
        "FOR EACH ROW EXECUTE FUNCTION audit_entry_is_append_only()"
    )


def downgrade() -> None:
    op.drop_table("audit_entry")
    op.execute("DROP FUNCTION audit_entry_is_append_only()")
    ddl.drop_columns("statement_review", "review_round", "person_id")
    ddl.drop_columns(
        "statement",
        "revised_by_person_id",
        "created_by_person_id",
        "legal_requested",
        "review_round",
    )
    ddl.drop_columns("playbook", "legal_review")
    ddl.drop_columns("incident_member", "person_id")
    ddl.drop_columns("timeline_event", "person_id")
    op.drop_constraint("ck_api_key_one_owner", "api_key")
    ddl.drop_columns("api_key", "service_account", "person_id")
    op.drop_table("person")
