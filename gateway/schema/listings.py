"""The statements behind the connections: tenant scope, filters and the chosen order.

Each builder returns a select of the table's columns and the sort key (`page_select`, read
as plain rows by `fetch_ordered_page`), scoped to one organization before any filter
applies, and the ordering the cursors are issued for.
"""

import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import Select, and_, func, not_, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from gateway.schema.enums import IncidentStatus, TaskStatus, Tier
from gateway.schema.filters import (
    DELIVERY_STATUSES,
    REVIEW_STATUSES,
    IncidentFilter,
    MentionFilter,
    ReviewReportFilter,
    SignalFilter,
    StatementFilter,
    StoryFilter,
    TaskFilter,
    WatchlistFilter,
    WebhookDeliveryFilter,
    as_utc,
    check_choice,
    contains_pattern,
    require_id,
)
from gateway.schema.ordering import (
    DELIVERY_KEYS,
    INCIDENT_KEYS,
    MENTION_KEYS,
    REVIEW_KEYS,
    SIGNAL_KEYS,
    STATEMENT_KEYS,
    STORY_KEYS,
    TASK_KEYS,
    WATCHLIST_KEYS,
    IncidentOrder,
    IncidentOrderField,
    KeySpec,
    MentionOrder,
    MentionOrderField,
    OrderDirection,
    ReviewReportOrder,
    ReviewReportOrderField,
    SignalOrder,
    SignalOrderField,
    StatementOrder,
    StatementOrderField,
    StoryOrder,
    StoryOrderField,
    TaskOrder,
    TaskOrderField,
    WatchlistOrder,
    WatchlistOrderField,
    WebhookDeliveryOrder,
    WebhookDeliveryOrderField,
    build_ordering,
    tier_rank,
)
from gateway.schema.pagination import Ordering, page_select
from libs.database import tables

Field = TypeVar("Field", bound=Enum)
Keys = Mapping[Field, KeySpec]
Listing = tuple[Select[Any], Ordering]

OPEN_STATUSES = tuple(status.value for status in IncidentStatus if status.is_open)
TIER_RANKS = {tier: rank for rank, tier in enumerate(Tier, start=1)}


def choose(keys: Keys[Field], order: Any, field: Field, direction: OrderDirection) -> Ordering:
    """Return the ordering the client asked for in `order`, or the connection's default."""
    if order is None:
        return build_ordering(keys, field, direction)
    return build_ordering(keys, order.field, order.direction)


def mentions(
    organization_id: uuid.UUID, filter: MentionFilter | None, order: MentionOrder | None
) -> Listing:
    """Mentions of the organization, newest posted first unless `order` says otherwise."""
    ordering = choose(MENTION_KEYS, order, MentionOrderField.POSTED_AT, OrderDirection.DESC)
    mention, analysis = tables.Mention, tables.MentionAnalysis
    where: list[ColumnElement[bool]] = [col(mention.organization_id) == organization_id]
    judged: list[ColumnElement[bool]] = []
    if filter is not None:
        if filter.source is not None:
            where.append(col(mention.source) == filter.source.value)
        if filter.since is not None:
            where.append(col(mention.posted_at) >= as_utc(filter.since))
        if filter.until is not None:
            where.append(col(mention.posted_at) < as_utc(filter.until))
        if filter.author_database_id is not None:
            where.append(col(mention.author_id) == filter.author_database_id)
        if filter.text_contains is not None:
            where.append(col(mention.text).ilike(contains_pattern(filter.text_contains)))
        if filter.sentiment is not None:
            judged.append(col(analysis.sentiment) == filter.sentiment.value)
        if filter.watchlist_id is not None:
            watched = require_id(filter.watchlist_id, "Watchlist", "filter.watchlistId")
            judged.append(col(analysis.watchlist_ids).contains([watched]))
        if filter.story_id is not None:
            story_id = require_id(filter.story_id, "Story", "filter.storyId")
            judged.append(col(analysis.story_id) == story_id)
        if filter.crisis_type is not None:
            judged.append(col(analysis.crisis_type) == filter.crisis_type.value)
        if filter.min_influence is not None:
            judged.append(col(analysis.influence) >= filter.min_influence)
        if filter.amplifier is not None:
            judged.append(col(analysis.amplifier).is_(filter.amplifier))
        if filter.analyzed is not None:
            analysed = col(analysis.mention_id)
            judged.append(analysed.is_not(None) if filter.analyzed else analysed.is_(None))
    statement = page_select(mention, ordering)
    if judged or ordering.name == MentionOrderField.INFLUENCE.name:
        statement = statement.outerjoin(
            analysis,
            and_(
                col(analysis.mention_id) == col(mention.id),
                col(analysis.organization_id) == organization_id,
            ),
        )
    return statement.where(*where, *judged), ordering


def stories(
    organization_id: uuid.UUID,
    filter: StoryFilter | None,
    order: StoryOrder | None,
    watchlist_id: uuid.UUID | None = None,
) -> Listing:
    """Stories of the organization, the most recently active first by default."""
    ordering = choose(STORY_KEYS, order, StoryOrderField.LAST_POSTED_AT, OrderDirection.DESC)
    story, hit = tables.Story, tables.WatchlistHit
    where: list[ColumnElement[bool]] = [col(story.organization_id) == organization_id]
    watchlist_ids = [watchlist_id] if watchlist_id is not None else []
    if filter is not None:
        if filter.watchlist_id is not None:
            watchlist_ids.append(require_id(filter.watchlist_id, "Watchlist", "filter.watchlistId"))
        if filter.min_mentions is not None:
            where.append(col(story.mention_count) >= filter.min_mentions)
        if filter.active_since is not None:
            where.append(col(story.last_posted_at) >= as_utc(filter.active_since))
        if filter.active_until is not None:
            where.append(col(story.last_posted_at) < as_utc(filter.active_until))
    for watched in watchlist_ids:
        where.append(
            select(hit.mention_id)
            .where(
                col(hit.watchlist_id) == watched,
                col(hit.organization_id) == organization_id,
                col(hit.story_id) == col(story.id),
            )
            .exists()
        )
    return page_select(story, ordering).where(*where), ordering


def signals(
    organization_id: uuid.UUID, filter: SignalFilter | None, order: SignalOrder | None
) -> Listing:
    """Risk signals of the organization, newest first by default."""
    ordering = choose(SIGNAL_KEYS, order, SignalOrderField.CREATED_AT, OrderDirection.DESC)
    signal = tables.RiskSignal
    where: list[ColumnElement[bool]] = [col(signal.organization_id) == organization_id]
    if filter is not None:
        if filter.watchlist_id is not None:
            watched = require_id(filter.watchlist_id, "Watchlist", "filter.watchlistId")
            where.append(col(signal.watchlist_id) == watched)
        if filter.tier is not None:
            where.append(col(signal.tier) == filter.tier.value)
        if filter.min_tier is not None:
            where.append(tier_rank(col(signal.tier)) >= TIER_RANKS[filter.min_tier])
        if filter.below_blue is not None:
            # "none" and anything unknown rank 0, below blue.
            below = tier_rank(col(signal.tier)) == 0
            where.append(below if filter.below_blue else not_(below))
        if filter.min_score is not None:
            where.append(col(signal.score) >= filter.min_score)
        if filter.crisis_type is not None:
            where.append(col(signal.crisis_type) == filter.crisis_type.value)
        if filter.since is not None:
            where.append(col(signal.created_at) >= as_utc(filter.since))
        if filter.until is not None:
            where.append(col(signal.created_at) < as_utc(filter.until))
    return page_select(signal, ordering).where(*where), ordering


def watchlists(
    organization_id: uuid.UUID, filter: WatchlistFilter | None, order: WatchlistOrder | None
) -> Listing:
    """Watchlists of the organization, by name (code point order) by default."""
    ordering = choose(WATCHLIST_KEYS, order, WatchlistOrderField.NAME, OrderDirection.ASC)
    watchlist = tables.Watchlist
    where: list[ColumnElement[bool]] = [col(watchlist.organization_id) == organization_id]
    if filter is not None:
        if filter.tier is not None:
            where.append(col(watchlist.current_tier) == filter.tier.value)
        if filter.min_tier is not None:
            rank = tier_rank(col(watchlist.current_tier))
            where.append(rank >= TIER_RANKS[filter.min_tier])
        if filter.name_contains is not None:
            where.append(col(watchlist.name).ilike(contains_pattern(filter.name_contains)))
        if filter.spiked_since is not None:
            where.append(col(watchlist.last_spike_at) >= as_utc(filter.spiked_since))
    return page_select(watchlist, ordering).where(*where), ordering


def incidents(
    organization_id: uuid.UUID, filter: IncidentFilter | None, order: IncidentOrder | None
) -> Listing:
    """Incidents of the organization, most recently detected first by default."""
    ordering = choose(INCIDENT_KEYS, order, IncidentOrderField.DETECTED_AT, OrderDirection.DESC)
    incident = tables.Incident
    where: list[ColumnElement[bool]] = [col(incident.organization_id) == organization_id]
    if filter is not None:
        if filter.status is not None:
            where.append(col(incident.status) == filter.status.value)
        if filter.tier is not None:
            where.append(col(incident.tier) == filter.tier.value)
        if filter.watchlist_id is not None:
            watched = require_id(filter.watchlist_id, "Watchlist", "filter.watchlistId")
            where.append(col(incident.watchlist_id) == watched)
        if filter.crisis_type is not None:
            where.append(col(incident.crisis_type) == filter.crisis_type.value)
        if filter.open is not None:
            is_open = col(incident.status).in_(OPEN_STATUSES)
            where.append(is_open if filter.open else not_(is_open))
        if filter.acknowledged is not None:
            acknowledged = col(incident.acknowledged_at)
            where.append(
                acknowledged.is_not(None) if filter.acknowledged else acknowledged.is_(None)
            )
        if filter.detected_since is not None:
            where.append(col(incident.detected_at) >= as_utc(filter.detected_since))
        if filter.detected_until is not None:
            where.append(col(incident.detected_at) < as_utc(filter.detected_until))
    return page_select(incident, ordering).where(*where), ordering


def task_overdue(now: datetime) -> ColumnElement[bool]:
    """Whether a task is overdue at `now`: not done, and past due or already found breached."""
    task = tables.ResponseTask
    return and_(
        col(task.status) != TaskStatus.DONE.value,
        or_(
            col(task.breached_at).is_not(None),
            col(task.status) == TaskStatus.OVERDUE.value,
            col(task.due_at) < now,
        ),
    )


def tasks(
    organization_id: uuid.UUID, filter: TaskFilter | None, order: TaskOrder | None, now: datetime
) -> Listing:
    """Response tasks across the organization's incidents, soonest due first by default."""
    ordering = choose(TASK_KEYS, order, TaskOrderField.DUE_AT, OrderDirection.ASC)
    task, incident, member = tables.ResponseTask, tables.Incident, tables.IncidentMember
    where: list[ColumnElement[bool]] = [col(task.organization_id) == organization_id]
    if filter is not None:
        if filter.status is not None:
            where.append(col(task.status) == filter.status.value)
        if filter.overdue is not None:
            overdue = task_overdue(now)
            where.append(overdue if filter.overdue else not_(overdue))
        if filter.role is not None:
            where.append(col(task.role) == filter.role.value)
        if filter.person is not None:
            where.append(
                select(member.id)
                .where(
                    col(member.organization_id) == organization_id,
                    col(member.incident_id) == col(task.incident_id),
                    col(member.role) == col(task.role),
                    col(member.person) == filter.person,
                )
                .exists()
            )
        if filter.incident_id is not None:
            opened = require_id(filter.incident_id, "Incident", "filter.incidentId")
            where.append(col(task.incident_id) == opened)
        if filter.incident_open is not None:
            is_open = (
                select(incident.id)
                .where(
                    col(incident.id) == col(task.incident_id),
                    col(incident.organization_id) == organization_id,
                    col(incident.status).in_(OPEN_STATUSES),
                )
                .exists()
            )
            where.append(is_open if filter.incident_open else not_(is_open))
        if filter.channel is not None:
            where.append(col(task.channel) == filter.channel.value)
        if filter.kind is not None:
            where.append(col(task.kind) == filter.kind)
        if filter.due_before is not None:
            where.append(col(task.due_at) < as_utc(filter.due_before))
        if filter.due_after is not None:
            where.append(col(task.due_at) >= as_utc(filter.due_after))
    return page_select(task, ordering).where(*where), ordering


def statements(
    organization_id: uuid.UUID, filter: StatementFilter | None, order: StatementOrder | None
) -> Listing:
    """Statements across the organization's incidents, newest first by default."""
    ordering = choose(STATEMENT_KEYS, order, StatementOrderField.CREATED_AT, OrderDirection.DESC)
    statement = tables.Statement
    where: list[ColumnElement[bool]] = [col(statement.organization_id) == organization_id]
    if filter is not None:
        if filter.channel is not None:
            where.append(col(statement.channel) == filter.channel.value)
        if filter.status is not None:
            where.append(col(statement.status) == filter.status.value)
        if filter.incident_id is not None:
            opened = require_id(filter.incident_id, "Incident", "filter.incidentId")
            where.append(col(statement.incident_id) == opened)
        if filter.flagged is not None:
            flagged = func.jsonb_array_length(col(statement.flags)) > 0
            where.append(flagged if filter.flagged else not_(flagged))
    return page_select(statement, ordering).where(*where), ordering


def review_reports(
    organization_id: uuid.UUID, filter: ReviewReportFilter | None, order: ReviewReportOrder | None
) -> Listing:
    """Review reports of the organization, newest first by default."""
    ordering = choose(REVIEW_KEYS, order, ReviewReportOrderField.CREATED_AT, OrderDirection.DESC)
    report = tables.ReviewReport
    where: list[ColumnElement[bool]] = [col(report.organization_id) == organization_id]
    if filter is not None:
        status = check_choice(filter.status, REVIEW_STATUSES, "filter.status")
        if status is not None:
            where.append(col(report.status) == status)
        if filter.completed is not None:
            completed = col(report.completed_at)
            where.append(completed.is_not(None) if filter.completed else completed.is_(None))
        if filter.incident_id is not None:
            opened = require_id(filter.incident_id, "Incident", "filter.incidentId")
            where.append(col(report.incident_id) == opened)
    return page_select(report, ordering).where(*where), ordering


def webhook_deliveries(
    organization_id: uuid.UUID,
    filter: WebhookDeliveryFilter | None,
    order: WebhookDeliveryOrder | None,
) -> Listing:
    """The organization's webhook delivery log, newest first by default."""
    ordering = choose(
        DELIVERY_KEYS, order, WebhookDeliveryOrderField.CREATED_AT, OrderDirection.DESC
    )
    delivery = tables.WebhookDelivery
    where: list[ColumnElement[bool]] = [col(delivery.organization_id) == organization_id]
    if filter is not None:
        if filter.endpoint_id is not None:
            endpoint = require_id(filter.endpoint_id, "WebhookEndpoint", "filter.endpointId")
            where.append(col(delivery.endpoint_id) == endpoint)
        status = check_choice(filter.status, DELIVERY_STATUSES, "filter.status")
        if status is not None:
            where.append(col(delivery.status) == status)
        if filter.event_type is not None:
            where.append(col(delivery.event_type) == filter.event_type.value)
        if filter.since is not None:
            where.append(col(delivery.created_at) >= as_utc(filter.since))
        if filter.until is not None:
            where.append(col(delivery.created_at) < as_utc(filter.until))
    return page_select(delivery, ordering).where(*where), ordering
