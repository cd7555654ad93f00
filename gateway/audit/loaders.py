"""The audit reads: an entry by id, within the caller's organization."""

from sqlmodel import col

from gateway.core.reads import ById
from libs.database.tables import AuditEntry

AUDIT_ENTRIES = ById(AuditEntry, col(AuditEntry.id))
