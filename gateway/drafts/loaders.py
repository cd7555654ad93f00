"""Statement templates by id, within the caller's organization."""

from sqlmodel import col

from gateway.core.reads import ById
from libs.database.tables import StatementTemplate

TEMPLATES = ById(StatementTemplate, col(StatementTemplate.id))
