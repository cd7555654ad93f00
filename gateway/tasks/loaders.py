"""The task read other types load through (`ResponseTask.load`)."""

from sqlmodel import col

from gateway.core.reads import ById
from libs.database.tables import ResponseTask

TASKS = ById(ResponseTask, col(ResponseTask.id))
