"""Statements across incidents, newest first unless sorted otherwise."""

import strawberry
from sqlalchemy import func
from sqlmodel import col
from strawberry import relay

from gateway.core.enums import Channel, StatementStatus
from gateway.core.filters import equals, holds, names
from gateway.core.listing import ListSpec, Sorting, timestamps
from gateway.statements.types import Statement
from libs.database import tables

statement = tables.Statement


@strawberry.input(description="Narrow a statement list; every given condition must hold.")
class StatementFilter:
    channel: Channel | None = equals(statement.channel)
    status: StatementStatus | None = equals(statement.status)
    incident_id: relay.GlobalID | None = names(statement.incident_id, "Incident")
    flagged: bool | None = holds(
        lambda scope: func.jsonb_array_length(col(statement.flags)) > 0,
        "Whether unresolved consistency flags remain.",
    )


STATEMENT_ORDER = Sorting(
    "Sort statements.",
    **timestamps(statement),
)
STATEMENT_LIST = ListSpec(Statement, StatementFilter, STATEMENT_ORDER)


@strawberry.type
class StatementQuery:
    statements = STATEMENT_LIST.connection_field(
        "Statements across incidents, newest first unless `orderBy` says otherwise."
    )
