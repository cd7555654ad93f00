"""The risk-signal read other types load through (`RiskSignal.load`)."""

from sqlmodel import col

from gateway.core.reads import ById
from libs.database.tables import RiskSignal

SIGNALS = ById(RiskSignal, col(RiskSignal.id))
