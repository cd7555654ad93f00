"""Statements across incidents, newest first unless sorted otherwise."""

from datetime import datetime

import strawberry
from sqlalchemy import func
from sqlmodel import col

from gateway.core.listing import Key, ListSpec, OrderDirection, equal, holds, names
from gateway.statements.types import Statement, StatementFilter
from libs.database import tables

statement = tables.Statement
STATEMENT_LIST = ListSpec(
    "Statement",
    kind="statement",
    table=statement,
    node=Statement,
    keys={
        "CREATED_AT": Key(col(statement.created_at), datetime),
        "UPDATED_AT": Key(col(statement.updated_at), datetime),
    },
    direction=OrderDirection.DESC,
    filter=StatementFilter,
    where={
        "channel": equal(col(statement.channel)),
        "status": equal(col(statement.status)),
        "incident_id": names(col(statement.incident_id), "Incident"),
        "flagged": holds(lambda scope: func.jsonb_array_length(col(statement.flags)) > 0),
    },
    noun="a statement list",
    description="Sort statements.",
)


@strawberry.type
class StatementQuery:
    statements = STATEMENT_LIST.connection_field(
        "Statements across incidents, newest first unless `orderBy` says otherwise."
    )
