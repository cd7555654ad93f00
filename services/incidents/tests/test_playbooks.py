"""Playbooks per tier and crisis type, organization overrides, teams and role assignment."""

import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from libs.contracts.enums import Channel, CrisisType, IncidentStatus, TeamRole, Tier
from libs.contracts.response import (
    AssignRole,
    ChangeIncidentTier,
    PlaybookTask,
    SetPlaybook,
    TeamSlot,
)
from libs.database.tables import IncidentMember
from libs.database.tables import Playbook as PlaybookRow
from services.incidents.lifecycle import service as lifecycle
from services.incidents.playbook import service as playbook
from services.incidents.team import service as team
from services.incidents.tests.builders import (
    DETECTED_AT,
    force,
    make_org,
    make_watchlist,
    open_incident,
    run,
    tasks_of,
    timeline_of,
)
from tests.builders import Sessions

NOW = DETECTED_AT + timedelta(minutes=10)
R = TeamRole

DEFAULT_TASKS = {
    Tier.YELLOW: ["acknowledge", "confirm_scope", "first_statement", "detailed_reply"],
    Tier.ORANGE: [
        "acknowledge",
        "confirm_scope",
        "first_statement",
        "collect_feedback",
        "detailed_reply",
        "full_plan",
    ],
    Tier.RED: [
        "acknowledge",
        "confirm_scope",
        "legal_review",
        "first_statement",
        "website_notice",
        "collect_feedback",
        "detailed_reply",
        "douyin_video",
        "full_plan",
    ],
}
DEFAULT_TEAMS = {
    Tier.YELLOW: {R.MONITOR: 1, R.ANALYST: 1, R.SPOKESPERSON: 1},
    Tier.ORANGE: {
        R.COMMANDER: 1,
        R.MONITOR: 1,
        R.ANALYST: 1,
        R.SPOKESPERSON: 1,
        R.CUSTOMER_SERVICE: 1,
    },
    Tier.RED: {
        R.COMMANDER: 1,
        R.MONITOR: 2,
        R.ANALYST: 1,
        R.SPOKESPERSON: 1,
        R.LEGAL: 1,
        R.CUSTOMER_SERVICE: 1,
    },
}


def _set(
    organization_id: uuid.UUID,
    tier: Tier,
    tasks: list[PlaybookTask],
    team_slots: list[TeamSlot] | None = None,
    crisis_type: CrisisType | None = None,
) -> SetPlaybook:
    return SetPlaybook.model_validate(
        {
            "organization_id": organization_id,
            "actor": "key-admin",
            "tier": tier,
            "crisis_type": crisis_type,
            "team": team_slots or [TeamSlot(role=R.COMMANDER, count=1)],
            "tasks": tasks,
        }
    )


def _task(
    kind: str, minutes: int, role: TeamRole = R.COMMANDER, channel: Channel | None = None
) -> PlaybookTask:
    return PlaybookTask(
        kind=kind, title=f"任务{kind}", due_after_minutes=minutes, role=role, channel=channel
    )


@pytest.mark.parametrize("tier", [Tier.YELLOW, Tier.ORANGE, Tier.RED])
async def test_defaults_per_tier(rolled_back: Sessions, tier: Tier) -> None:
    incident = await open_incident(rolled_back, await make_watchlist(rolled_back), tier)

    tasks = await tasks_of(rolled_back, incident)
    assert [t.kind for t in tasks] == DEFAULT_TASKS[tier]
    due = {t.kind: t.due_at - DETECTED_AT for t in tasks}
    assert due["acknowledge"] == timedelta(minutes=30)
    assert due["confirm_scope"] == timedelta(hours=2)
    assert due["first_statement"] == timedelta(hours=4)
    assert due["detailed_reply"] == timedelta(hours=24)
    if tier is Tier.YELLOW:
        assert "full_plan" not in due
    else:
        assert due["full_plan"] == timedelta(hours=48)
    assert all(t.role is not None for t in tasks)
    channels = {t.kind: t.channel for t in tasks}
    assert channels["first_statement"] == "weibo" and channels["detailed_reply"] == "wechat"

    async with rolled_back() as session:
        status = await team.team_status(session, incident.id)
    assert status is not None and status.tier is tier
    assert {s.role: s.needed for s in status.slots} == DEFAULT_TEAMS[tier]
    assert (
        sum(s.needed for s in status.slots) == {Tier.YELLOW: 3, Tier.ORANGE: 5, Tier.RED: 7}[tier]
    )
    assert not status.complete
    roles_on_team = {s.role.value for s in status.slots}
    assert {t.role for t in tasks} <= roles_on_team


@pytest.mark.parametrize("tier", [Tier.YELLOW, Tier.ORANGE, Tier.RED])
async def test_a_rumour_gets_the_tier_plan_with_verification_first_and_a_platform_report(
    rolled_back: Sessions, tier: Tier
) -> None:
    rumour = await open_incident(
        rolled_back, await make_watchlist(rolled_back), tier, crisis_type=CrisisType.MISINFORMATION
    )
    kinds = [t.kind for t in await tasks_of(rolled_back, rumour)]
    standard = DEFAULT_TASKS[tier]
    assert kinds == [standard[0], "verify_claim", *standard[1:], "platform_report"]
    due = {t.kind: t.due_at - DETECTED_AT for t in await tasks_of(rolled_back, rumour)}
    # The claim is checked before the first statement (the debunk) is due.
    assert due["verify_claim"] == timedelta(hours=1) < due["first_statement"]
    # Another crisis type keeps the tier's own plan.
    quality = await open_incident(
        rolled_back,
        await make_watchlist(rolled_back, name="米粉"),
        tier,
        crisis_type=CrisisType.PRODUCT_QUALITY,
    )
    assert [t.kind for t in await tasks_of(rolled_back, quality)] == standard


async def test_an_organization_override_applies_and_a_type_specific_one_wins(
    rolled_back: Sessions,
) -> None:
    org = await make_org(rolled_back)
    other = await make_org(rolled_back)
    team_slots = [TeamSlot(role=R.COMMANDER, count=2), TeamSlot(role=R.LEGAL, count=1)]
    any_type, _ = await run(
        rolled_back,
        playbook.set_playbook,
        _set(
            org, Tier.ORANGE, [_task("war_room", 15), _task("legal_check", 60, R.LEGAL)], team_slots
        ),
        now=NOW,
    )
    quality, _ = await run(
        rolled_back,
        playbook.set_playbook,
        _set(
            org,
            Tier.ORANGE,
            [_task("recall_check", 90, channel=Channel.WEBSITE)],
            crisis_type=CrisisType.PRODUCT_QUALITY,
        ),
        now=NOW,
    )
    assert any_type.ok and any_type.data["crisis_type"] == "*"
    assert quality.ok and quality.data["crisis_type"] == "product_quality"

    milk = await make_watchlist(rolled_back, org, "奶粉")
    rice = await make_watchlist(rolled_back, org, "米粉")
    plain = await open_incident(rolled_back, milk, Tier.ORANGE, crisis_type=CrisisType.DATA_LEAK)
    typed = await open_incident(
        rolled_back, rice, Tier.ORANGE, crisis_type=CrisisType.PRODUCT_QUALITY
    )
    theirs = await open_incident(rolled_back, await make_watchlist(rolled_back, other), Tier.ORANGE)
    yellow = await open_incident(rolled_back, await make_watchlist(rolled_back, org, "辅食"))

    plain_tasks = await tasks_of(rolled_back, plain)
    assert [(t.kind, t.due_at - DETECTED_AT, t.role) for t in plain_tasks] == [
        ("war_room", timedelta(minutes=15), "commander"),
        ("legal_check", timedelta(hours=1), "legal"),
    ]
    typed_tasks = await tasks_of(rolled_back, typed)
    assert [(t.kind, t.channel) for t in typed_tasks] == [("recall_check", "website")]
    assert [t.kind for t in await tasks_of(rolled_back, theirs)] == DEFAULT_TASKS[Tier.ORANGE]
    assert [t.kind for t in await tasks_of(rolled_back, yellow)] == DEFAULT_TASKS[Tier.YELLOW]
    async with rolled_back() as session:
        status = await team.team_status(session, plain.id)
    assert status is not None
    assert [(s.role, s.needed) for s in status.slots] == [(R.COMMANDER, 2), (R.LEGAL, 1)]


async def test_setting_a_playbook_again_replaces_it(
    rolled_back: Sessions,
) -> None:
    org = await make_org(rolled_back)
    first, _ = await run(
        rolled_back, playbook.set_playbook, _set(org, Tier.RED, [_task("a", 10)]), now=NOW
    )
    second, _ = await run(
        rolled_back,
        playbook.set_playbook,
        _set(org, Tier.RED, [_task("b", 20)]),
        now=NOW + timedelta(hours=1),
    )
    assert first.data["id"] == second.data["id"]
    async with rolled_back() as session:
        rows = (
            await session.exec(select(PlaybookRow).where(PlaybookRow.organization_id == org))
        ).all()
    assert len(rows) == 1
    assert [t["kind"] for t in rows[0].tasks] == ["b"]
    assert rows[0].updated_at == NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    ("team_slots", "tasks", "field", "text"),
    [
        (
            [TeamSlot(role=R.LEGAL, count=1), TeamSlot(role=R.LEGAL, count=2)],
            [_task("a", 10, R.LEGAL)],
            "team",
            "role legal more than once",
        ),
        (
            [TeamSlot(role=R.COMMANDER, count=1)],
            [_task("a", 10), _task("a", 20)],
            "tasks",
            "kind a more than once",
        ),
        (
            [TeamSlot(role=R.COMMANDER, count=1)],
            [_task("statement", 10, R.SPOKESPERSON)],
            "tasks",
            "owned by spokesperson, who is not on the team",
        ),
    ],
)
async def test_an_inconsistent_playbook_is_refused(
    rolled_back: Sessions,
    team_slots: list[TeamSlot],
    tasks: list[PlaybookTask],
    field: str,
    text: str,
) -> None:
    org = await make_org(rolled_back)
    result, _ = await run(
        rolled_back, playbook.set_playbook, _set(org, Tier.YELLOW, tasks, team_slots), now=NOW
    )
    assert result.error is not None
    assert (result.error.code, result.error.field) == ("Invalid", field)
    assert text in result.error.message
    async with rolled_back() as session:
        query = select(PlaybookRow).where(PlaybookRow.organization_id == org)
        assert (await session.exec(query)).all() == []


async def test_raising_with_an_override_adds_only_new_kinds_and_grows_the_team(
    rolled_back: Sessions,
) -> None:
    org = await make_org(rolled_back)
    red_team = [
        TeamSlot(role=R.COMMANDER, count=1),
        TeamSlot(role=R.MONITOR, count=3),
        TeamSlot(role=R.LEGAL, count=1),
    ]
    red_tasks = [
        _task("acknowledge", 15, R.MONITOR),
        _task("first_statement", 60, R.COMMANDER, Channel.WECHAT),
        _task("regulator_report", 120, R.LEGAL),
    ]
    await run(rolled_back, playbook.set_playbook, _set(org, Tier.RED, red_tasks, red_team), now=NOW)
    incident = await open_incident(rolled_back, await make_watchlist(rolled_back, org), Tier.YELLOW)
    before = {t.kind: t for t in await tasks_of(rolled_back, incident)}

    result, _ = await run(
        rolled_back,
        lifecycle.change_tier,
        ChangeIncidentTier(
            organization_id=org,
            actor="key-a",
            incident_id=incident.id,
            tier=Tier.RED,
            reason="监管部门介入",
        ),
        now=NOW,
    )

    assert result.ok and result.data["added_tasks"] == ["regulator_report"]
    after = {t.kind: t for t in await tasks_of(rolled_back, incident)}
    assert set(after) == {*before, "regulator_report"}
    # Existing tasks keep their deadlines and channels; the override does not rewrite them.
    assert after["first_statement"].due_at == before["first_statement"].due_at
    assert after["first_statement"].channel == "weibo"
    async with rolled_back() as session:
        status = await team.team_status(session, incident.id)
    assert status is not None
    assert [(s.role, s.needed) for s in status.slots] == [
        (R.COMMANDER, 1),
        (R.MONITOR, 3),
        (R.LEGAL, 1),
    ]


def _assign(
    incident_org: uuid.UUID, incident_id: uuid.UUID, role: TeamRole, person: str
) -> AssignRole:
    return AssignRole.model_validate(
        {
            "organization_id": incident_org,
            "actor": "key-commander",
            "incident_id": incident_id,
            "role": role,
            "person": person,
        }
    )


async def test_assigning_roles_fills_the_team(rolled_back: Sessions) -> None:
    org = await make_org(rolled_back)
    incident = await open_incident(rolled_back, await make_watchlist(rolled_back, org), Tier.YELLOW)
    later = NOW + timedelta(minutes=1)

    for role, person in [(R.MONITOR, "王敏"), (R.ANALYST, "李强"), (R.SPOKESPERSON, "陈静")]:
        result, messages = await run(
            rolled_back, team.assign_role, _assign(org, incident.id, role, person), now=NOW
        )
        assert result.ok and result.data["created"] is True and messages == []
    extra, _ = await run(
        rolled_back, team.assign_role, _assign(org, incident.id, R.LEGAL, "赵律师"), now=later
    )
    again, _ = await run(
        rolled_back, team.assign_role, _assign(org, incident.id, R.MONITOR, " 王敏 "), now=later
    )

    assert extra.ok and again.ok and again.data["created"] is False
    assert again.data["assigned_at"] == NOW.isoformat()
    async with rolled_back() as session:
        status = await team.team_status(session, incident.id, organization_id=org)
        members = (
            await session.exec(
                select(IncidentMember).where(IncidentMember.incident_id == incident.id)
            )
        ).all()
        hidden = await team.team_status(session, incident.id, organization_id=incident.id)
    assert hidden is None
    assert status is not None and status.complete
    assert [(s.role, s.needed, s.people) for s in status.slots] == [
        (R.MONITOR, 1, ("王敏",)),
        (R.ANALYST, 1, ("李强",)),
        (R.SPOKESPERSON, 1, ("陈静",)),
        (R.LEGAL, 0, ("赵律师",)),
    ]
    assert len(members) == 4
    assigned = [e for e in await timeline_of(rolled_back, incident) if e.kind == "member_assigned"]
    assert len(assigned) == 4
    first = next(e for e in assigned if e.data["person"] == "王敏")
    assert first.actor == "key-commander" and first.message == "指派王敏担任舆情监测员"


async def test_assigning_roles_is_refused_on_missing_or_finished_incidents(
    rolled_back: Sessions,
) -> None:
    org = await make_org(rolled_back)
    rival = await make_org(rolled_back)
    incident = await open_incident(rolled_back, await make_watchlist(rolled_back, org))

    foreign, _ = await run(
        rolled_back, team.assign_role, _assign(rival, incident.id, R.MONITOR, "王敏"), now=NOW
    )
    await force(rolled_back, incident, status=IncidentStatus.MERGED)
    merged, _ = await run(
        rolled_back, team.assign_role, _assign(org, incident.id, R.MONITOR, "王敏"), now=NOW
    )

    assert foreign.error is not None and foreign.error.code == "NotFound"
    assert foreign.error.field == "incidentId"
    assert merged.error is not None and merged.error.code == "InvalidTransition"
    assert merged.error.message == "cannot assign a role on an incident that is merged"
    async with rolled_back() as session:
        query = select(IncidentMember).where(IncidentMember.incident_id == incident.id)
        assert (await session.exec(query)).all() == []
