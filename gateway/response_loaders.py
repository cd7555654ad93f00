"""DataLoaders for an incident's response: team, statements, facts, affected users, review.

Keyed by incident id (or by the statement or affected user one level down), so a page of
incidents costs one query per kind of child, whatever the page size.
"""

import uuid

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.dataloader import DataLoader

from gateway.grouped_loaders import row_by_parent, rows_by_id, rows_by_parent
from libs.database.tables import (
    AffectedUser,
    FollowUpTask,
    ImprovementAction,
    IncidentMember,
    KeyFact,
    Playbook,
    ReviewReport,
    Statement,
    StatementReview,
)


class ResponseLoaders:
    """The response loaders of one request, all scoped to `organization_id`."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID
    ) -> None:
        org = organization_id
        self.statements: DataLoader[uuid.UUID, Statement | None] = rows_by_id(
            sessions, org, Statement, col(Statement.id), col(Statement.organization_id)
        )
        self.reviews: DataLoader[uuid.UUID, ReviewReport | None] = rows_by_id(
            sessions, org, ReviewReport, col(ReviewReport.id), col(ReviewReport.organization_id)
        )
        self.playbooks: DataLoader[uuid.UUID, Playbook | None] = rows_by_id(
            sessions, org, Playbook, col(Playbook.id), col(Playbook.organization_id)
        )
        self.team_by_incident: DataLoader[uuid.UUID, list[IncidentMember]] = rows_by_parent(
            sessions,
            org,
            IncidentMember,
            col(IncidentMember.incident_id),
            col(IncidentMember.organization_id),
            order_by=(col(IncidentMember.assigned_at), col(IncidentMember.id)),
        )
        self.statements_by_incident: DataLoader[uuid.UUID, list[Statement]] = rows_by_parent(
            sessions,
            org,
            Statement,
            col(Statement.incident_id),
            col(Statement.organization_id),
            order_by=(col(Statement.created_at), col(Statement.id)),
        )
        self.reviews_by_statement: DataLoader[uuid.UUID, list[StatementReview]] = rows_by_parent(
            sessions,
            org,
            StatementReview,
            col(StatementReview.statement_id),
            col(StatementReview.organization_id),
            order_by=(col(StatementReview.reviewed_at), col(StatementReview.id)),
        )
        self.key_facts_by_incident: DataLoader[uuid.UUID, list[KeyFact]] = rows_by_parent(
            sessions,
            org,
            KeyFact,
            col(KeyFact.incident_id),
            col(KeyFact.organization_id),
            order_by=(col(KeyFact.created_at), col(KeyFact.label)),
        )
        # The contact's ciphertext is never loaded: the gateway shows masked data only.
        self.affected_users_by_incident: DataLoader[uuid.UUID, list[AffectedUser]] = rows_by_parent(
            sessions,
            org,
            AffectedUser,
            col(AffectedUser.incident_id),
            col(AffectedUser.organization_id),
            order_by=(col(AffectedUser.created_at), col(AffectedUser.id)),
            omit=(AffectedUser.contact_cipher,),
        )
        self.follow_ups_by_user: DataLoader[uuid.UUID, list[FollowUpTask]] = rows_by_parent(
            sessions,
            org,
            FollowUpTask,
            col(FollowUpTask.affected_user_id),
            col(FollowUpTask.organization_id),
            order_by=(col(FollowUpTask.due_at).nulls_last(), col(FollowUpTask.id)),
        )
        self.review_by_incident: DataLoader[uuid.UUID, ReviewReport | None] = row_by_parent(
            sessions,
            org,
            ReviewReport,
            col(ReviewReport.incident_id),
            col(ReviewReport.organization_id),
        )
        self.improvements_by_incident: DataLoader[uuid.UUID, list[ImprovementAction]] = (
            rows_by_parent(
                sessions,
                org,
                ImprovementAction,
                col(ImprovementAction.incident_id),
                col(ImprovementAction.organization_id),
                order_by=(col(ImprovementAction.created_at), col(ImprovementAction.id)),
            )
        )
