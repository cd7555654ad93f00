"""Situation reports by id, within the caller's organization."""

from sqlmodel import col

from gateway.core.reads import ById
from libs.database.tables import SituationReport

REPORTS = ById(SituationReport, col(SituationReport.id))
