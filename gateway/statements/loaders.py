"""The statement reads: statements by id and each statement's review decisions."""

from sqlmodel import col

from gateway.core.reads import ById, Children
from libs.database.tables import Statement, StatementReview

STATEMENTS = ById(Statement, col(Statement.id))
REVIEWS_BY_STATEMENT = Children(
    StatementReview,
    col(StatementReview.statement_id),
    order_by=(col(StatementReview.reviewed_at), col(StatementReview.id)),
)
