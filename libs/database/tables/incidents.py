"""Incidents, their response tasks and timelines. Written only by the incidents service."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from libs.database.tables._types import at_field, id_field, jsonb_field, org_field

OPEN_INCIDENT_PREDICATE = "status NOT IN ('resolved', 'closed', 'merged', 'false_alarm')"


class Incident(SQLModel, table=True):
    """A crisis being handled; at most one open incident per watchlist (partial unique index)."""

    __table_args__ = (
        Index(
            "uq_incident_open_per_watchlist",
            "watchlist_id",
            unique=True,
            postgresql_where=text(OPEN_INCIDENT_PREDICATE),
        ),
        Index("ix_incident_org_detected", "organization_id", "detected_at", "id"),
    )

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = org_field()
    watchlist_id: uuid.UUID = Field(foreign_key="watchlist.id", ondelete="CASCADE")
    title: str = Field(max_length=300)
    tier: str = Field(max_length=8)
    status: str = Field(max_length=16)
    detected_at: datetime = at_field()
    acknowledged_at: datetime | None = at_field(nullable=True)
    acknowledged_by: str | None = Field(default=None, max_length=200)
    last_signal_id: uuid.UUID | None = Field(default=None, foreign_key="risk_signal.id")
    created_at: datetime = at_field(default_now=True)
    updated_at: datetime = at_field(default_now=True)


class ResponseTask(SQLModel, table=True):
    """A playbook task with its deadline, computed from the incident's `detected_at`."""

    __tablename__ = "response_task"
    __table_args__ = (UniqueConstraint("incident_id", "kind"),)

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = org_field()
    incident_id: uuid.UUID = Field(foreign_key="incident.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=32)
    title: str = Field(max_length=300)
    position: int = 0
    due_at: datetime = at_field()
    status: str = Field(default="open", max_length=16)
    completed_at: datetime | None = at_field(nullable=True)
    created_at: datetime = at_field(default_now=True)


class TimelineEvent(SQLModel, table=True):
    """One change to an incident, who made it and why; the timeline is append-only."""

    __tablename__ = "timeline_event"
    __table_args__ = (Index("ix_timeline_event_incident_at", "incident_id", "occurred_at"),)

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = org_field()
    incident_id: uuid.UUID = Field(foreign_key="incident.id", ondelete="CASCADE")
    kind: str = Field(max_length=32)
    message: str
    actor: str = Field(default="system", max_length=200)
    data: dict[str, Any] = jsonb_field()
    occurred_at: datetime = at_field(default_now=True)
