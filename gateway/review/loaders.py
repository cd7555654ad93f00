"""The review reads: reports by id and each incident's improvement actions."""

from sqlmodel import col

from gateway.core.reads import ById, Children
from libs.database.tables import ImprovementAction, ReviewReport

REVIEWS = ById(ReviewReport, col(ReviewReport.id))
IMPROVEMENTS_BY_INCIDENT = Children(
    ImprovementAction,
    col(ImprovementAction.incident_id),
    order_by=(col(ImprovementAction.created_at), col(ImprovementAction.id)),
)
