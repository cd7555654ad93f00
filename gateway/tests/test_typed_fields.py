"""Closed value sets read as enums beside the strings they replace, and filter on them.

Each typed field is read next to its deprecated string from rows stored the way the owning
service stores them, so a member mapped to the wrong stored value fails here; the filters
are walked like a console walks them, and a deprecated filter field given beside its typed
replacement is refused.
"""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest_asyncio
from arq.connections import ArqRedis
from graphql import GraphQLInputObjectType, GraphQLObjectType, build_schema
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.incidents.types import TimelineEventKind
from gateway.mentions.types import ComplaintChannel
from gateway.print_schema import render
from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL, gid
from gateway.tests.connections import page, walk
from gateway.tests.subscription_support import Gateway, bearer, live_client, serve_gateway
from libs.contracts.enums import Role, Source
from libs.database import tables
from libs.database.engine import transaction
from libs.messaging import live
from libs.settings import Settings
from tests.builders import Sessions, Tenant

TIMELINE = """
query($id: ID!) {
  incident(id: $id) { timelineConnection(first: 100) { nodes { kind eventKind message } } }
}
"""


async def test_every_timeline_kind_reads_as_its_enum_member_and_an_unknown_one_as_other(
    gql: GraphQL, sessions: Sessions, acme: Tenant
) -> None:
    stored = [kind.value for kind in TimelineEventKind if kind is not TimelineEventKind.OTHER]
    # A kind no service records today, as an older or newer writer may have left one.
    stored.append("acknowledged")
    async with transaction(sessions) as session:
        opened = await builders.watched_incident(session, acme.org.id, detected_at=T0)
        for minute, kind in enumerate(stored):
            await builders.event(
                session, opened, kind, f"事件 {kind}", T0 + timedelta(minutes=minute)
            )

    body = await gql(acme.auth(Role.VIEWER), TIMELINE, {"id": gid("Incident", opened.id)})
    assert "errors" not in body, body
    read = {
        node["kind"]: node["eventKind"]
        for node in body["data"]["incident"]["timelineConnection"]["nodes"]
    }
    assert read == {kind: kind.upper() for kind in stored} | {"acknowledged": "OTHER"}
    # Spelled out for the kinds whose names a client might guess otherwise.
    assert read["tier_changed"] == "TIER_CHANGED"
    assert read["improvement_status"] == "IMPROVEMENT_STATUS"
    assert read["forecast_deadline_at_risk"] == "FORECAST_DEADLINE_AT_RISK"


@pytest_asyncio.fixture
async def gateway(settings: Settings, redis: ArqRedis) -> AsyncIterator[Gateway]:
    """A gateway served over a real socket, on an emptied Redis."""
    async with serve_gateway(settings) as served:
        yield served


UPDATES = """
subscription($incidentId: ID) {
  incidentUpdates(incidentId: $incidentId) { change changeKind event { kind eventKind } }
}
"""


async def test_an_incident_update_names_its_change_as_a_timeline_event_kind(
    gateway: Gateway,
    redis: ArqRedis,
    sessions: async_sessionmaker[AsyncSession],
    acme: Tenant,
) -> None:
    async with transaction(sessions) as session:
        opened = await builders.watched_incident(session, acme.org.id, detected_at=T0)
        changed = await builders.event(session, opened, "status_changed", "状态变更", T0)
        unknown = await builders.event(session, opened, "acknowledged", "值班员已确认", T0)

    def notice(event: tables.TimelineEvent) -> live.Notice:
        facts = live.IncidentFacts(event_id=event.id, change=event.kind, at=event.occurred_at)
        return live.incident_notice(acme.org.id, opened.id, facts)

    async with live_client(gateway.url, bearer(acme.keys[Role.VIEWER])) as client:
        operation = await client.subscribe(UPDATES, {"incidentId": gid("Incident", opened.id)})
        await gateway.listening(acme.org.id)
        await live.announce(redis, [notice(changed), notice(unknown)])
        first = await client.next_data(operation)
        second = await client.next_data(operation)

    assert first["incidentUpdates"] == {
        "change": "status_changed",
        "changeKind": "STATUS_CHANGED",
        "event": {"kind": "status_changed", "eventKind": "STATUS_CHANGED"},
    }
    assert second["incidentUpdates"] == {
        "change": "acknowledged",
        "changeKind": "OTHER",
        "event": {"kind": "acknowledged", "eventKind": "OTHER"},
    }


COMPLAINTS = """
{ mentions(first: 20, filter: {source: COMPLAINT}) { nodes { complaint { channel channelKind } } } }
"""


async def test_a_complaints_channel_reads_as_its_enum_member(
    gql: GraphQL, sessions: Sessions, acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        for minute, channel in enumerate(ComplaintChannel):
            row = await builders.mention(
                session,
                acme.org.id,
                posted_at=T0 + timedelta(minutes=minute),
                source=Source.COMPLAINT,
            )
            complaint = tables.Complaint(
                organization_id=acme.org.id,
                mention_id=row.id,
                customer_ref="C-1001",
                channel=channel.value,
            )
            await builders.stored(session, complaint)

    body = await gql(acme.auth(Role.VIEWER), COMPLAINTS)
    assert "errors" not in body, body
    read = {
        node["complaint"]["channel"]: node["complaint"]["channelKind"]
        for node in body["data"]["mentions"]["nodes"]
    }
    assert read == {
        "hotline": "HOTLINE",
        "app": "APP",
        "ecommerce_platform": "ECOMMERCE_PLATFORM",
        "customer_service_desk": "CUSTOMER_SERVICE_DESK",
        "email": "EMAIL",
        "wechat": "WECHAT",
        "regulator": "REGULATOR",
        "store": "STORE",
        "other": "OTHER",
    }


SCORE_CARD = """
query($id: ID!) { drill(id: $id) { scoreCard { deadlines { kind outcome outcomeKind } } } }
"""


async def test_a_drill_deadlines_outcome_reads_as_its_enum_member(
    gql: GraphQL, sessions: Sessions, acme: Tenant
) -> None:
    deadlines = [
        {
            "kind": kind,
            "title": kind,
            "allowed_seconds": 1800.0,
            "done_after_seconds": done,
            "outcome": outcome,
        }
        for kind, done, outcome in [
            ("acknowledge", 600.0, "met"),
            ("first_statement", 2400.0, "missed"),
            ("review", None, "open"),
        ]
    ]
    async with transaction(sessions) as session:
        played = await builders.watchlist(session, acme.org.id, "演练：产品安全")
        drill = await builders.stored(
            session,
            tables.Drill(
                organization_id=acme.org.id,
                watchlist_id=played.id,
                scenario="product_safety",
                speed=60.0,
                delivery="suppress",
                state="ended",
                started_by="test",
                ended_at=T0,
                score_card={"deadlines": deadlines, "deadlines_met": 1, "deadlines_missed": 1},
            ),
        )

    body = await gql(acme.auth(Role.VIEWER), SCORE_CARD, {"id": gid("Drill", drill.id)})
    assert "errors" not in body, body
    assert body["data"]["drill"]["scoreCard"]["deadlines"] == [
        {"kind": "acknowledge", "outcome": "met", "outcomeKind": "MET"},
        {"kind": "first_statement", "outcome": "missed", "outcomeKind": "MISSED"},
        {"kind": "review", "outcome": "open", "outcomeKind": "OPEN"},
    ]


SIGNAL = """
query($id: ID!) {
  node(id: $id) { ... on RiskSignal { scoreComponents {
    spike negativeShare velocity reach amplification sensitive crisisType clustering
  } } }
}
"""


async def test_a_signals_score_components_read_typed_and_missing_ones_as_null(
    gql: GraphQL, sessions: Sessions, acme: Tenant
) -> None:
    scored = {
        "spike": 0.9,
        "negative_share": 0.75,
        "velocity": 0.4,
        "reach": 0.3,
        "amplification": 0.6,
        "sensitive": 1,
        "crisis_type": 0.5,
        "clustering": 0.2,
        "weights": {"spike": 0.22},
        "window_count": 120,
    }
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, acme.org.id)
        full = await builders.signal(session, watched)
        full.components = scored
        partial = await builders.signal(session, watched)

    body = await gql(acme.auth(Role.VIEWER), SIGNAL, {"id": gid("RiskSignal", full.id)})
    assert "errors" not in body, body
    assert body["data"]["node"]["scoreComponents"] == {
        "spike": 0.9,
        "negativeShare": 0.75,
        "velocity": 0.4,
        "reach": 0.3,
        "amplification": 0.6,
        "sensitive": 1.0,
        "crisisType": 0.5,
        "clustering": 0.2,
    }
    # The builder's signal stores only `spike_ratio` (not a component) and `negative_share`.
    body = await gql(acme.auth(Role.VIEWER), SIGNAL, {"id": gid("RiskSignal", partial.id)})
    assert "errors" not in body, body
    components = body["data"]["node"]["scoreComponents"]
    assert components.pop("negativeShare") == 0.83
    assert set(components.values()) == {None}


def refused_on(body: dict[str, Any]) -> tuple[str, str, str]:
    """Return the refusal's code, field and message; the answer must have no data."""
    assert body.get("data") is None, body
    (error,) = body["errors"]
    return error["extensions"]["code"], error["extensions"]["field"], error["message"]


async def test_review_reports_filter_on_their_typed_state(
    gql: GraphQL, sessions: Sessions, acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        first = await builders.watched_incident(session, acme.org.id, detected_at=T0)
        shipping = await builders.watchlist(session, acme.org.id, "物流延误")
        second = await builders.incident(session, shipping, detected_at=T0)
        done = await builders.review(session, first)
        done.status, done.completed_at = "complete", T0 + timedelta(days=1)
        done.created_at = T0
        draft = await builders.review(session, second)
        draft.created_at = T0 + timedelta(hours=1)

    assert await walk(gql, acme, "reviewReports", filter={"state": "COMPLETE"}) == [str(done.id)]
    assert await walk(gql, acme, "reviewReports", filter={"state": "DRAFT"}) == [str(draft.id)]
    # The deprecated string still works on its own.
    assert await walk(gql, acme, "reviewReports", filter={"status": "draft"}) == [str(draft.id)]
    both = await page(gql, acme, "reviewReports", filter={"status": "draft", "state": "DRAFT"})
    assert refused_on(both) == (
        "InvalidInput",
        "filter.state",
        "Give `filter.state` or the deprecated `filter.status`, not both.",
    )


DELIVERIES = """
query($status: String, $state: WebhookDeliveryState, $filter: WebhookDeliveryFilter) {
  webhookDeliveries(first: 20, status: $status, state: $state, filter: $filter) {
    nodes { databaseId status state }
  }
}
"""


async def test_the_delivery_log_filters_on_the_typed_state_as_argument_and_in_filter(
    gql: GraphQL, sessions: Sessions, acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        hook = await builders.endpoint(session, acme.org.id)
        made = {
            status: await builders.delivery(session, hook, T0 + timedelta(minutes=i), status)
            for i, status in enumerate(("pending", "succeeded", "failed", "gone"))
        }

    async def listed(**variables: Any) -> list[tuple[str, str, str]]:
        body = await gql(acme.auth(Role.VIEWER), DELIVERIES, variables)
        assert "errors" not in body, body
        nodes = body["data"]["webhookDeliveries"]["nodes"]
        return [(node["databaseId"], node["status"], node["state"]) for node in nodes]

    for status, row in made.items():
        expected = [(str(row.id), status, status.upper())]
        assert await listed(state=status.upper()) == expected
        assert await listed(filter={"state": status.upper()}) == expected
        assert await listed(status=status) == expected
    # The argument and the filter are two conditions, as before: both must hold.
    assert await listed(status="failed", filter={"state": "FAILED"}) == [
        (str(made["failed"].id), "failed", "FAILED")
    ]
    assert await listed(status="failed", filter={"state": "GONE"}) == []

    both = await gql(acme.auth(Role.VIEWER), DELIVERIES, {"status": "gone", "state": "GONE"})
    assert refused_on(both) == (
        "InvalidInput",
        "state",
        "Give `state` or the deprecated `status`, not both.",
    )
    both = await gql(
        acme.auth(Role.VIEWER), DELIVERIES, {"filter": {"status": "gone", "state": "GONE"}}
    )
    assert refused_on(both)[:2] == ("InvalidInput", "filter.state")


def test_every_deprecation_in_the_schema_names_its_removal_date() -> None:
    schema = build_schema(render())
    reasons: dict[str, str | None] = {}
    for name, named in schema.type_map.items():
        if name.startswith("__"):
            continue
        if isinstance(named, GraphQLObjectType):
            for field_name, field in named.fields.items():
                reasons[f"{name}.{field_name}"] = field.deprecation_reason
                for arg_name, arg in field.args.items():
                    reasons[f"{name}.{field_name}({arg_name})"] = arg.deprecation_reason
        elif isinstance(named, GraphQLInputObjectType):
            for field_name, input_field in named.fields.items():
                reasons[f"{name}.{field_name}"] = input_field.deprecation_reason
    deprecated = {where: why for where, why in reasons.items() if why}
    assert "WebhookPolicy.allowPrivateDestinations" in deprecated
    assert "Query.webhookDeliveries(status)" in deprecated
    assert "WebhookDeliveryFilter.status" in deprecated
    undated = {
        where: why for where, why in deprecated.items() if "removal on 20" not in why.lower()
    }
    assert undated == {}


def test_the_typed_replacements_are_not_deprecated_and_name_their_enums() -> None:
    schema = build_schema(render())
    expected = {
        ("TimelineEvent", "eventKind"): "TimelineEventKind!",
        ("IncidentUpdate", "changeKind"): "TimelineEventKind!",
        ("ComplaintDetails", "channelKind"): "ComplaintChannel!",
        ("DrillDeadline", "outcomeKind"): "DrillDeadlineOutcome!",
        ("RiskSignal", "scoreComponents"): "ScoreComponents!",
        ("ReviewReportFilter", "state"): "ReviewState",
        ("WebhookDeliveryFilter", "state"): "WebhookDeliveryState",
    }
    for (type_name, field_name), type_ in expected.items():
        named = schema.type_map[type_name]
        assert isinstance(named, GraphQLObjectType | GraphQLInputObjectType)
        field = named.fields[field_name]
        assert str(field.type) == type_
        assert not field.deprecation_reason
    query = schema.query_type
    assert query is not None
    assert str(query.fields["webhookDeliveries"].args["state"].type) == "WebhookDeliveryState"
