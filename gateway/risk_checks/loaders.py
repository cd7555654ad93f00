"""The risk-check reads: checks by id, within the caller's organization."""

from sqlmodel import col

from gateway.core.reads import ById
from libs.database.tables import RiskCheck

RISK_CHECKS = ById(RiskCheck, col(RiskCheck.id))
