"""How each war-room and webhook mutation maps a refusal of the real service that owns it.

One scene is built for the module through the real workers: a detected incident with a
draft statement, an incident dismissed as a false alarm (with a statement and a task of
its own), a disabled webhook endpoint with a delivery, and a chat-bot endpoint. Every case
then sends one mutation the owning service refuses, with real inputs, and checks the typed
result and that exactly that one command reached the service. A refusal changes nothing,
so the cases share the scene.

Not here: `completeFollowUp`, which no service refuses once the
gateway has found the row (`tests/test_concurrent_deletes.py` gets a NotFound from a
service), and `updateReview`, refused only once a review is complete (see the aftercare
test).
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from arq.connections import ArqRedis
from arq.constants import result_key_prefix
from arq.jobs import Job
from sqlmodel import col, select

from gateway.tests.conftest import gid
from gateway.tests.war_room_ops import OPS, PLAYBOOK
from libs.contracts.enums import Role
from libs.database.tables import WebhookDelivery, WebhookEndpoint
from tests.builders import Tenant
from tests.fixtures.workers import settled
from tests.gateway.builders import System, WarRoom, tasks_of, war_room

PUBLIC_HOOK = "https://93.184.215.14/hook"


@dataclass(frozen=True)
class Scene:
    """The module's war room and the rows its refusals name."""

    room: WarRoom
    statement: uuid.UUID
    dismissed_statement: uuid.UUID
    dismissed_task: uuid.UUID
    endpoint: uuid.UUID
    disabled_reason: str
    delivery: uuid.UUID
    bot: uuid.UUID

    @property
    def tenant(self) -> Tenant:
        """The scene's organization."""
        return self.room.tenant


async def _admin(system: System, owner: Tenant, name: str, variables: dict[str, Any]) -> Any:
    return await system.mutate(owner, Role.ADMIN, OPS[name].document, variables)


async def _draft(system: System, owner: Tenant, incident: uuid.UUID) -> uuid.UUID:
    variables = {"id": gid("Incident", incident), "channel": "WEIBO", "body": "情况说明"}
    drafted = await _admin(system, owner, "draftStatement", variables)
    return uuid.UUID(drafted["databaseId"])


async def _endpoint(system: System, owner: Tenant, kind: str, url: str, event: str) -> uuid.UUID:
    variables = {"input": {"name": kind, "kind": kind, "url": url, "eventTypes": [event]}}
    created = await _admin(system, owner, "createWebhookEndpoint", variables)
    return uuid.UUID(created["endpoint"]["databaseId"])


@pytest_asyncio.fixture(scope="module")
async def scene(system: System) -> Scene:
    """Build the scene through the gateway and the real workers."""
    room = await war_room(system)
    owner = room.tenant
    endpoint = await _endpoint(system, owner, "STANDARD", PUBLIC_HOOK, "INCIDENT_STATUS_CHANGED")
    bot = await _endpoint(system, owner, "DINGTALK", PUBLIC_HOOK, "TASK_OVERDUE")
    statement = await _draft(system, owner, room.incident)
    dismissed_statement = await _draft(system, owner, room.other_incident)
    dismissed = {"id": gid("Incident", room.other_incident), "to": "FALSE_ALARM", "reason": "误报"}
    await _admin(system, owner, "transitionIncident", dismissed)
    # The dismissal's status event reached the endpoint as a delivery.
    await settled(system.sessions, system.redis, owner.org.id)
    disable = {"input": {"id": gid("WebhookEndpoint", endpoint), "enabled": False}}
    await _admin(system, owner, "updateWebhookEndpoint", disable)
    async with system.sessions() as session:
        [delivery] = (
            await session.exec(
                select(WebhookDelivery.id).where(col(WebhookDelivery.endpoint_id) == endpoint)
            )
        ).all()
        disabled = await session.get(WebhookEndpoint, endpoint)
    assert disabled is not None
    assert disabled.disabled_reason is not None
    return Scene(
        room=room,
        statement=statement,
        dismissed_statement=dismissed_statement,
        dismissed_task=(await tasks_of(system, room.other_incident))[0],
        endpoint=endpoint,
        disabled_reason=disabled.disabled_reason,
        delivery=delivery,
        bot=bot,
    )


Variables = Callable[[Scene], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    """A mutation the owning service refuses: why, what is sent, and what it reads as.

    `message` may name the scene's rows: {other_incident}, {statement}, {endpoint} and
    {disabled_reason}; `detail` is the refusal's field or the incident's current status.
    """

    mutation: str
    why: str
    variables: Variables
    typename: str
    message: str
    detail: dict[str, str]

    def expected(self, scene: Scene) -> dict[str, Any]:
        """Return the result the gateway must answer for `scene`."""
        names = {
            "other_incident": scene.room.other_incident,
            "statement": scene.statement,
            "endpoint": scene.endpoint,
            "disabled_reason": scene.disabled_reason,
        }
        message = self.message.format(**names)
        return {"__typename": self.typename, "message": message, **self.detail}


def incident(s: Scene) -> str:
    """The detected incident's global id."""
    return gid("Incident", s.room.incident)


def dismissed(s: Scene) -> str:
    """The global id of the incident dismissed as a false alarm."""
    return gid("Incident", s.room.other_incident)


def statement(s: Scene) -> str:
    """The global id of the detected incident's draft statement."""
    return gid("Statement", s.statement)


STILL_OPEN = {"currentStatus": "DETECTED"}
OVER = {"currentStatus": "FALSE_ALARM"}
INVALID, CONFLICT, TRANSITION = "InvalidInput", "Conflict", "InvalidTransition"
NO_STATEMENTS = "incident is false_alarm; it takes no statement changes"
RENAMED = "its field renamed to the mutation's id"

CASES = [
    Case(
        "transitionIncident",
        "a move the lifecycle forbids",
        lambda s: {"id": incident(s), "to": "RESOLVED"},
        TRANSITION,
        "cannot move an incident that is detected to resolved: "
        "from detected it can move to acknowledged, merged, false_alarm",
        STILL_OPEN,
    ),
    Case(
        "transitionIncident",
        "a dismissal without a reason",
        lambda s: {"id": incident(s), "to": "FALSE_ALARM"},
        INVALID,
        "a reason is required to move an incident from detected to false_alarm",
        {"field": "reason"},
    ),
    Case(
        "transitionIncident",
        "a merge into a closed incident",
        lambda s: {"id": incident(s), "to": "MERGED", "reason": "同源", "into": dismissed(s)},
        CONFLICT,
        "cannot merge into incident {other_incident}: it is false_alarm, not open",
        {"field": "mergeIntoId"},
    ),
    Case(
        "changeIncidentTier",
        "the tier it has",
        lambda s: {"id": incident(s), "tier": "ORANGE", "reason": "复核"},
        INVALID,
        "the incident is already orange",
        {"field": "tier"},
    ),
    Case(
        "changeIncidentTier",
        "a closed incident",
        lambda s: {"id": dismissed(s), "tier": "RED", "reason": "复核"},
        TRANSITION,
        "cannot change the tier of an incident that is false_alarm",
        OVER,
    ),
    Case(
        "assignRole",
        "a closed incident",
        lambda s: {"id": dismissed(s), "role": "SPOKESPERSON", "person": "李娜"},
        TRANSITION,
        "cannot assign a role on an incident that is false_alarm",
        OVER,
    ),
    Case(
        "assignRole",
        "a blank person",
        lambda s: {"id": incident(s), "role": "SPOKESPERSON", "person": "  "},
        INVALID,
        "person must not be blank",
        {"field": "person"},
    ),
    Case(
        "setKeyFacts",
        "a label given twice",
        lambda s: {
            "id": incident(s),
            "facts": [{"label": "批次", "value": "1"}, {"label": "批次", "value": "2"}],
        },
        INVALID,
        "key fact labels repeat: 批次",
        {"field": "facts"},
    ),
    Case(
        "setKeyFacts",
        f"a closed incident, {RENAMED}",
        lambda s: {"id": dismissed(s), "facts": [{"label": "批次", "value": "1"}]},
        CONFLICT,
        NO_STATEMENTS,
        {"field": "id"},
    ),
    Case(
        "completeTask",
        "a task of a closed incident",
        lambda s: {"id": gid("ResponseTask", s.dismissed_task)},
        TRANSITION,
        "cannot complete a task of an incident that is false_alarm",
        OVER,
    ),
    Case(
        "snoozeWatchlist",
        "a snooze beyond 30 days",
        lambda s: {
            "id": gid("Watchlist", s.room.watchlist),
            "until": "2099-01-01T00:00:00+00:00",
            "reason": "促销活动期间误报",
        },
        INVALID,
        "until must be at most 30 days ahead",
        {"field": "until"},
    ),
    Case(
        "setPlaybook",
        "a task whose role is not on the team",
        lambda s: {"input": {**PLAYBOOK, "team": [{"role": "COMMANDER"}]}},
        INVALID,
        "task legal_review is owned by legal, who is not on the team",
        {"field": "tasks"},
    ),
    Case(
        "draftStatement",
        "a channel that has a draft",
        lambda s: {"id": incident(s), "channel": "WEIBO", "body": "第二份说明"},
        CONFLICT,
        "channel weibo already has statement {statement} in status draft; "
        "revise it instead of drafting another",
        {"field": "channel"},
    ),
    Case(
        "reviseStatement",
        f"a statement of a closed incident, {RENAMED}",
        lambda s: {"id": gid("Statement", s.dismissed_statement), "body": "修订"},
        CONFLICT,
        NO_STATEMENTS,
        {"field": "id"},
    ),
    Case(
        "reviewStatement",
        "a level out of order",
        lambda s: {"id": statement(s), "stage": "LEVEL_2", "decision": "APPROVE"},
        TRANSITION,
        "level_2 needs level_1 approval first; statement is draft at review level 0",
        STILL_OPEN,
    ),
    Case(
        "reviewStatement",
        "a legal review of an orange incident",
        lambda s: {"id": statement(s), "stage": "LEGAL", "decision": "APPROVE"},
        INVALID,
        "legal review applies to red incidents and to statements it was requested for; "
        "incident is orange",
        {"field": "stage"},
    ),
    Case(
        "publishStatement",
        "a draft",
        lambda s: {"id": statement(s), "url": "https://weibo.com/1", "at": "2025-03-15T11:00Z"},
        TRANSITION,
        "statement is draft; only an approved statement can be published",
        STILL_OPEN,
    ),
    Case(
        "completeReview",
        "an incident not yet resolved",
        lambda s: {"id": incident(s)},
        TRANSITION,
        "cannot complete the review of an incident that is detected; resolve it first",
        STILL_OPEN,
    ),
    Case(
        "addAffectedUser",
        "a phone number that is none",
        lambda s: {
            "input": {
                "incidentId": incident(s),
                "name": "欧阳娜娜",
                "contactKind": "PHONE",
                "contact": "12345",
            }
        },
        INVALID,
        "contact is not a phone number: give a mainland mobile (11 digits starting 13–19) "
        "or +country code and digits",
        {"field": "contact"},
    ),
    Case(
        "fileReply",
        "a reply advising to delete posts",
        lambda s: {
            "input": {
                "incidentId": incident(s),
                "category": "产品质量",
                "text": "奶粉喝了拉肚子怎么办？",
                "reply": "建议您删除微博",
            }
        },
        INVALID,
        "reply advises deleting posts ('删除微博'); the reply library never does",
        {"field": "reply"},
    ),
    Case(
        "createWebhookEndpoint",
        "a loopback destination",
        lambda s: {
            "input": {
                "name": "本机",
                "url": "https://127.0.0.1/hook",
                "eventTypes": ["TASK_OVERDUE"],
            }
        },
        INVALID,
        "url host '127.0.0.1' resolves to a private or reserved address; such destinations "
        "are refused unless the deployment's operator lists their network",
        {"field": "url"},
    ),
    Case(
        "updateWebhookEndpoint",
        "a plain http destination",
        lambda s: {
            "input": {"id": gid("WebhookEndpoint", s.endpoint), "url": "http://93.184.215.14/hook"}
        },
        INVALID,
        "url must start with https:// (http is accepted only inside the private networks "
        "the deployment's operator lists)",
        {"field": "url"},
    ),
    Case(
        "rotateWebhookSecret",
        f"a chat bot, {RENAMED}",
        lambda s: {"id": gid("WebhookEndpoint", s.bot)},
        INVALID,
        "dingtalk bots sign with the secret their platform issued; "
        "only standard endpoints have secrets rotated here",
        {"field": "id"},
    ),
    Case(
        "redeliverWebhook",
        f"a delivery of a disabled endpoint, {RENAMED}",
        lambda s: {"id": gid("WebhookDelivery", s.delivery)},
        INVALID,
        "endpoint {endpoint} is disabled ({disabled_reason}); enable it before redelivering",
        {"field": "id"},
    ),
    Case(
        "setWebhookPolicy",
        "private destinations asked for by an organization",
        lambda s: {"allow": True},
        INVALID,
        "private destinations are chosen by the deployment's operator "
        "(CRISISWATCH_WEBHOOK_PRIVATE_CIDRS) for every organization, not by an organization",
        {"field": "allowPrivateDestinations"},
    ),
]


async def _answers(redis: ArqRedis, organization_id: uuid.UUID) -> dict[str, str]:
    """Return the commands the services answered for the organization: job id → name.

    Results are kept only while their sender waits, so one listed may be gone when read:
    it is skipped (arq's `all_job_results` raises for it).
    """
    answered: dict[str, str] = {}
    for key in await redis.keys(result_key_prefix + "*"):
        job_id = key[len(result_key_prefix) :].decode()
        found = await Job(job_id, redis, _deserializer=redis.job_deserializer).result_info()
        if found and found.args and found.args[0].get("organization_id") == str(organization_id):
            answered[job_id] = found.function
    return answered


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{c.mutation}: {c.why}") for c in CASES])
async def test_a_refusal_of_the_service_maps_to_its_typed_result(
    system: System, scene: Scene, case: Case
) -> None:
    variables = case.variables(scene)
    before = await _answers(system.redis, scene.tenant.org.id)
    result = await system.mutate(scene.tenant, Role.ADMIN, OPS[case.mutation].document, variables)
    after = await _answers(system.redis, scene.tenant.org.id)
    assert result == case.expected(scene)
    sent = [job for job_id, job in after.items() if job_id not in before]
    assert sent == [OPS[case.mutation].command.job_name()]
