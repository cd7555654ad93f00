"""On call end to end: rotas set → an incident opens → the monitor on duty is assigned and
paged → a task goes overdue → the analyst on duty is paged → the page is acknowledged."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from gateway.tests.conftest import gid
from libs.clock import FixedClock
from libs.contracts.enums import Role
from libs.database.engine import transaction
from libs.database.tables import AuditEntry, Incident, IncidentMember, IntegrationEvent, Page
from services.incidents.oncall import service as oncall
from services.incidents.tasks.watchdog import DeadlineWatchdog
from tests.builders import Tenant, read_all
from tests.gateway.builders import System, open_incident, watchlist

REFUSED = "... on Refusal { code message } ... on InvalidInput { field }"
CREATE_PERSON = f"""
mutation($input: CreatePersonInput!) {{
  createPerson(input: $input) {{
    __typename ... on CreatePersonPayload {{ person {{ id }} }} {REFUSED}
  }}
}}
"""
SET_ROTA = f"""
mutation($input: SetRotaInput!) {{
  setRota(input: $input) {{
    __typename ... on Rota {{ role handoffWeekday handoffTime startsOn timeZone people {{ name }} }}
    {REFUSED}
  }}
}}
"""
SET_OVERRIDE = f"""
mutation($input: SetRotaOverrideInput!) {{
  setRotaOverride(input: $input) {{
    __typename ... on RotaOverride {{ startsAt endsAt person {{ name }} }} {REFUSED}
  }}
}}
"""
ON_CALL = """
query($role: TeamRole!, $at: DateTime) {
  onCall(role: $role, at: $at) { role person { name } overridden timeZone }
}
"""
PAGES = """
query($incident: ID!) {
  pages(first: 10, filter: {incidentId: $incident}, orderBy: {field: PAGED_AT, direction: ASC}) {
    nodes { id role reason taskId acknowledgedAt person { name } incident { databaseId } }
  }
}
"""
ACKNOWLEDGE = f"""
mutation($input: AcknowledgePageInput!) {{
  acknowledgePage(input: $input) {{
    __typename ... on Page {{ acknowledgedAt acknowledgedBy }} {REFUSED}
  }}
}}
"""


async def person(system: System, owner: Tenant, name: str, handles: list[dict[str, str]]) -> str:
    """Create a person with chat handles through the gateway; return their global id."""
    made = await system.mutate(
        owner, Role.ADMIN, CREATE_PERSON, {"input": {"name": name, "chatHandles": handles}}
    )
    assert made["__typename"] == "CreatePersonPayload", made
    person_id: str = made["person"]["id"]
    return person_id


async def rota(system: System, owner: Tenant, role: str, people: list[str]) -> dict[str, Any]:
    """Set a Monday 09:00 rota for `role` that started two weeks ago."""
    started = (datetime.now(UTC) - timedelta(days=14)).date().isoformat()
    variables = {
        "input": {
            "role": role,
            "people": people,
            "handoffWeekday": 0,
            "handoffTime": "09:00:00",
            "startsOn": started,
        }
    }
    return await system.mutate(owner, Role.ADMIN, SET_ROTA, variables)


async def rows(system: System, query: Any) -> list[tuple[Any, ...]]:
    """Return the rows of a query of several columns, as tuples."""
    async with system.sessions() as session:
        return [tuple(row) for row in (await session.exec(query)).all()]


async def events_of(system: System, incident_id: uuid.UUID, type_: str) -> list[dict[str, Any]]:
    """Return the payloads of the incident's integration events of `type_`, oldest first."""
    query = (
        select(IntegrationEvent)
        .where(IntegrationEvent.incident_id == incident_id, IntegrationEvent.type == type_)
        .order_by(col(IntegrationEvent.occurred_at))
    )
    return [event.payload for event in await read_all(system.sessions, query)]


async def test_the_on_duty_monitor_is_paged_then_the_analyst_and_a_page_is_acknowledged(
    system: System, acme: Tenant, rival: Tenant
) -> None:
    monitor = await person(system, acme, "张监测", [{"platform": "FEISHU", "handle": "ou_zhang"}])
    analyst = await person(system, acme, "王分析", [{"platform": "WECOM", "handle": "wangfx"}])
    stand_in = await person(
        system, acme, "赵代班", [{"platform": "DINGTALK", "handle": "zhao4521"}]
    )

    # Rotas: configuration, admin only, audited; a person of another organization is not found.
    refused = await system.mutate(
        acme, Role.RESPONDER, SET_ROTA,
        {"input": {"role": "MONITOR", "people": [monitor], "handoffWeekday": 0,
                   "handoffTime": "09:00:00"}},
    )  # fmt: skip
    assert refused["__typename"] == "Forbidden"
    foreign = await person(system, rival, "外部人员", [])
    theirs = await rota(system, acme, "MONITOR", [monitor, foreign])
    assert theirs["__typename"] == "NotFound" and "no active person" in theirs["message"]
    bad_day = await system.mutate(
        acme, Role.ADMIN, SET_ROTA,
        {"input": {"role": "MONITOR", "people": [monitor], "handoffWeekday": 7,
                   "handoffTime": "09:00:00"}},
    )  # fmt: skip
    assert (bad_day["__typename"], bad_day["field"]) == ("InvalidInput", "handoffWeekday")
    set_monitor = await rota(system, acme, "MONITOR", [monitor])
    assert set_monitor["__typename"] == "Rota", set_monitor
    assert (set_monitor["handoffTime"], set_monitor["timeZone"]) == ("09:00:00", "Asia/Shanghai")
    assert set_monitor["people"] == [{"name": "张监测"}]
    assert (await rota(system, acme, "ANALYST", [analyst]))["__typename"] == "Rota"

    # 赵 stands in for the analyst for the next two hours: the late task falls in them.
    now = datetime.now(UTC)
    override = await system.mutate(
        acme, Role.RESPONDER, SET_OVERRIDE,
        {"input": {"role": "ANALYST", "personId": stand_in, "startsAt": now.isoformat(),
                   "endsAt": (now + timedelta(hours=2)).isoformat(), "reason": "换班"}},
    )  # fmt: skip
    assert override["person"] == {"name": "赵代班"}, override
    backwards = await system.mutate(
        acme, Role.RESPONDER, SET_OVERRIDE,
        {"input": {"role": "ANALYST", "personId": stand_in, "startsAt": now.isoformat(),
                   "endsAt": (now - timedelta(hours=1)).isoformat()}},
    )  # fmt: skip
    assert (backwards["__typename"], backwards["field"]) == ("InvalidInput", "endsAt")
    later = {"role": "ANALYST", "at": (now + timedelta(hours=3)).isoformat()}
    during = {"role": "ANALYST", "at": (now + timedelta(minutes=31)).isoformat()}
    assert (await system.mutate(acme, Role.VIEWER, ON_CALL, later)) == {
        "role": "ANALYST", "person": {"name": "王分析"}, "overridden": False,
        "timeZone": "Asia/Shanghai",
    }  # fmt: skip
    assert (await system.mutate(acme, Role.VIEWER, ON_CALL, during))["person"] == {"name": "赵代班"}
    nobody = await system.post(acme.auth(Role.VIEWER), ON_CALL, {"role": "LEGAL"})
    assert nobody["data"]["onCall"] is None
    far = {"role": "MONITOR", "at": "9999-12-31T00:00:00Z"}
    refused = await system.post(acme.auth(Role.VIEWER), ON_CALL, far)
    assert refused["data"]["onCall"] is None
    assert "`at` must fall between" in refused["errors"][0]["message"]
    async with system.sessions() as session:
        kinds = (
            await session.exec(
                select(AuditEntry.action).where(
                    AuditEntry.organization_id == acme.org.id, AuditEntry.entity_kind == "rota"
                )
            )
        ).all()
    assert sorted(kinds) == ["override", "set", "set"]

    # An incident opens: the monitor on duty joins its team and is paged.
    watched = await watchlist(system, acme, "禾岚乳业", ["禾岚"])
    incident_id = await open_incident(system, acme, watched)
    members = await rows(
        system,
        select(IncidentMember.role, IncidentMember.person, IncidentMember.assigned_by).where(
            IncidentMember.incident_id == incident_id
        ),
    )
    assert members == [("monitor", "张监测", "system")]
    incident = gid("Incident", incident_id)
    body = await system.post(acme.auth(Role.VIEWER), PAGES, {"incident": incident})
    [first] = body["data"]["pages"]["nodes"]
    assert (first["person"], first["role"], first["reason"], first["acknowledgedAt"]) == (
        {"name": "张监测"}, "MONITOR", "INCIDENT_OPENED", None
    )  # fmt: skip

    # Handled again (a redelivery): the same cause pages nobody twice.
    async with transaction(system.sessions) as session:
        opened = await session.get(Incident, incident_id)
        assert opened is not None
        assert await oncall.take_on_duty_monitor(session, opened, now=datetime.now(UTC)) == []

    # The monitor's 30-minute task goes overdue: it escalates to the analyst, and the person
    # on duty as analyst then (赵, standing in) is paged; a second pass pages no one more.
    clock = FixedClock(now + timedelta(minutes=31))
    watchdog = DeadlineWatchdog(system.sessions, system.redis, clock, interval=15)
    # The pass sees every organization's tasks in the shared system, so its count includes
    # other tests' late tasks: what it did for this incident is checked exactly below, and a
    # second pass finds nothing left to do anywhere.
    await watchdog.run_once()
    assert await watchdog.run_once() == 0
    [overdue] = await events_of(system, incident_id, "task.overdue")
    assert overdue["escalated_to"] == {"role": "analyst", "person": "赵代班"}
    body = await system.post(acme.auth(Role.VIEWER), PAGES, {"incident": incident})
    first_again, second = body["data"]["pages"]["nodes"]
    assert first_again == first
    assert (second["person"], second["role"], second["reason"]) == (
        {"name": "赵代班"}, "ANALYST", "TASK_OVERDUE"
    )  # fmt: skip
    assert second["taskId"] == overdue["task_id"]
    paged = await events_of(system, incident_id, "person.paged")
    assert [(p["person"], p["role"], p["reason"], p["chat_handles"]) for p in paged] == [
        ("张监测", "monitor", "incident_opened", [{"platform": "feishu", "handle": "ou_zhang"}]),
        ("赵代班", "analyst", "task_overdue", [{"platform": "dingtalk", "handle": "zhao4521"}]),
    ]

    # The page is acknowledged once; again changes nothing; another organization cannot.
    theirs_ack = await system.mutate(
        rival, Role.ADMIN, ACKNOWLEDGE, {"input": {"id": second["id"]}}
    )
    assert theirs_ack["__typename"] == "NotFound"
    viewer = await system.mutate(acme, Role.VIEWER, ACKNOWLEDGE, {"input": {"id": second["id"]}})
    assert viewer["__typename"] == "Forbidden"
    taken = await system.mutate(acme, Role.RESPONDER, ACKNOWLEDGE, {"input": {"id": second["id"]}})
    assert taken["__typename"] == "Page" and taken["acknowledgedAt"] is not None
    again = await system.mutate(acme, Role.ADMIN, ACKNOWLEDGE, {"input": {"id": second["id"]}})
    assert again == taken
    stored = await rows(
        system,
        select(Page.reason, col(Page.acknowledged_at).is_not(None))
        .where(Page.incident_id == incident_id)
        .order_by(col(Page.paged_at)),
    )
    assert stored == [("incident_opened", False), ("task_overdue", True)]
