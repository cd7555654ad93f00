"""Drills by id, within the caller's organization."""

from sqlmodel import col

from gateway.core.reads import ById
from libs.database.tables import Drill

DRILLS = ById(Drill, col(Drill.id))
