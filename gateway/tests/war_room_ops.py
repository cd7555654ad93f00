"""The mutations as clients send them, and rows (built directly) for the war-room ones to act on.

The same documents are sent to the real workers by the tests in `tests/gateway`.
"""

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import gid
from libs.contracts import notify, response
from libs.contracts.enums import ContactKind, IncidentStatus, StatementStatus
from libs.contracts.messages import AcknowledgeIncident, Command
from libs.database.engine import transaction
from libs.database.tables import FollowUpTask

# What a refusal shows; each union spreads only the kinds it has.
REFUSAL = "... on Refusal { message } ... on InvalidInput { field }"
CONFLICT = " ... on Conflict { field }"
TRANSITION = " ... on InvalidTransition { currentStatus }"
REFUSED = REFUSAL + CONFLICT + TRANSITION


def document(field: str, params: str, args: str, selection: str, refusals: str = REFUSED) -> str:
    """Build a one-field mutation selecting its result and its refusals."""
    return f"mutation({params}) {{ {field}({args}) {{ __typename {selection} {refusals} }} }}"


WATCHLIST = "... on Watchlist { id databaseId name keywords query currentTier createdAt updatedAt }"
CREATE_WATCHLIST = document(
    "createWatchlist",
    "$input: CreateWatchlistInput!",
    "input: $input",
    WATCHLIST,
    REFUSAL + CONFLICT,
)
UPDATE_WATCHLIST = document(
    "updateWatchlist",
    "$input: UpdateWatchlistInput!",
    "input: $input",
    WATCHLIST,
    REFUSAL + CONFLICT,
)
SET_TERMS = document(
    "setSensitiveTerms",
    "$input: SetSensitiveTermsInput!",
    "input: $input",
    "... on SensitiveTermsChanged { upserted removed }",
    REFUSAL,
)
ACKNOWLEDGED = (
    "... on Incident { databaseId status acknowledgedBy acknowledgedAt timeline { kind message } }"
)
ACKNOWLEDGE = document(
    "acknowledgeIncident",
    "$id: ID!, $note: String",
    "id: $id, note: $note",
    ACKNOWLEDGED,
    "... on Refusal { message }" + TRANSITION,
)

# Positional mutations sent in their `input:` form (`INPUT_FORMS`) and their positional one.
FORMS = ("positional", "input")


@dataclass(frozen=True)
class Seed:
    """One organization's rows the mutations act on."""

    incident: uuid.UUID
    other_incident: uuid.UUID
    watchlist: uuid.UUID
    task: uuid.UUID
    statement: uuid.UUID
    follow_up: uuid.UUID
    mention: uuid.UUID
    endpoint: uuid.UUID
    spare_endpoint: uuid.UUID
    delivery: uuid.UUID


async def seed(sessions: async_sessionmaker[AsyncSession], org: uuid.UUID) -> Seed:
    """Store an open incident with a task, a statement in review and an affected user,
    a second incident, a mention, and a webhook endpoint with one delivery."""
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, org)
        opened = await builders.incident(
            session, watched, detected_at=T0, status=IncidentStatus.ACKNOWLEDGED
        )
        other = await builders.incident(
            session, await builders.watchlist(session, org, name="物流"), detected_at=T0
        )
        task = await builders.task(
            session, opened, "first_statement", "首次声明", 1, timedelta(hours=4)
        )
        said = await builders.statement(session, opened, status=StatementStatus.IN_REVIEW)
        user = await builders.affected_user(
            session, opened, "张三", ContactKind.PHONE, "13812345678"
        )
        follow_up = (
            await session.exec(
                select(FollowUpTask).where(col(FollowUpTask.affected_user_id) == user.id)
            )
        ).one()
        posted = await builders.mention(session, org, posted_at=T0)
        hook = await builders.endpoint(session, org)
        spare = await builders.endpoint(session, org, name="备用系统")
        sent = await builders.delivery(session, hook, T0, status="failed")
    return Seed(
        incident=opened.id,
        other_incident=other.id,
        watchlist=watched.id,
        task=task.id,
        statement=said.id,
        follow_up=follow_up.id,
        mention=posted.id,
        endpoint=hook.id,
        spare_endpoint=spare.id,
        delivery=sent.id,
    )


@dataclass(frozen=True)
class Op:
    """A mutation: its field, document, variables for a seed, and the command it sends.

    `params`, `args`, `selection` and `refusals` are the parts the document was built from.
    """

    field: str
    document: str
    variables: Callable[[Seed], dict[str, Any]]
    command: type[Command]
    admin_only: bool = False
    takes_ids: bool = True
    selection: str = ""
    refusals: str = REFUSED


def op(
    field: str,
    params: str,
    args: str,
    selection: str,
    variables: Callable[[Seed], dict[str, Any]],
    command: type[Command],
    refusals: str = REFUSED,
    **flags: bool,
) -> Op:
    """Build one war-room mutation with its success selection and every refusal."""
    built = document(field, params, args, selection, refusals)
    return Op(field, built, variables, command, selection=selection, refusals=refusals, **flags)


PLAYBOOK = {
    "tier": "RED",
    "crisisType": "DATA_LEAK",
    "team": [{"role": "COMMANDER"}, {"role": "LEGAL", "count": 2}],
    "tasks": [
        {
            "kind": "legal_review",
            "title": "法务审核",
            "dueAfterMinutes": 60,
            "role": "LEGAL",
            "channel": "WEBSITE",
        }
    ],
}
INCIDENT = "... on Incident { databaseId status tier statusReason mergedInto { databaseId } "
INCIDENT += "team { role person } keyFacts { label value } }"
STATEMENT = "... on Statement { databaseId channel status reviewLevel body publishedUrl "
STATEMENT += "publishedAt reviews { stage decision note } }"
REVIEW = "... on ReviewReport { status rootCause completedBy improvements { action owner } }"
ENDPOINT = "... on WebhookEndpoint { databaseId name url eventTypes status }"

OPS: dict[str, Op] = {
    o.field: o
    for o in [
        op(
            "acknowledgeIncident",
            "$id: ID!, $note: String",
            "id: $id, note: $note",
            INCIDENT,
            lambda s: {"id": gid("Incident", s.incident), "note": "值班监测已启动"},
            AcknowledgeIncident,
            "... on Refusal { message }" + TRANSITION,
        ),
        op(
            "transitionIncident",
            "$id: ID!, $to: IncidentStatus!, $reason: String, $into: ID",
            "id: $id, toStatus: $to, reason: $reason, mergeIntoId: $into",
            INCIDENT,
            lambda s: {
                "id": gid("Incident", s.incident),
                "to": "MERGED",
                "reason": "与物流事件为同一来源",
                "into": gid("Incident", s.other_incident),
            },
            response.TransitionIncident,
        ),
        op(
            "changeIncidentTier",
            "$id: ID!, $tier: Tier!, $reason: String!",
            "id: $id, tier: $tier, reason: $reason",
            INCIDENT,
            lambda s: {"id": gid("Incident", s.incident), "tier": "RED", "reason": "央媒转发"},
            response.ChangeIncidentTier,
        ),
        op(
            "assignRole",
            "$id: ID!, $role: TeamRole!, $person: String!",
            "incidentId: $id, role: $role, person: $person",
            INCIDENT,
            lambda s: {"id": gid("Incident", s.incident), "role": "SPOKESPERSON", "person": "李娜"},
            response.AssignRole,
        ),
        op(
            "setKeyFacts",
            "$id: ID!, $facts: [KeyFactInput!]!",
            "incidentId: $id, facts: $facts",
            INCIDENT,
            lambda s: {
                "id": gid("Incident", s.incident),
                "facts": [{"label": "涉事批次", "value": "20250301"}],
            },
            response.SetKeyFacts,
        ),
        op(
            "completeTask",
            "$id: ID!, $note: String",
            "id: $id, note: $note",
            "... on ResponseTask { databaseId status completedBy }",
            lambda s: {"id": gid("ResponseTask", s.task), "note": "已发布"},
            response.CompleteTask,
        ),
        op(
            "snoozeWatchlist",
            "$id: ID!, $until: DateTime!, $reason: String!",
            "watchlistId: $id, until: $until, reason: $reason",
            "... on WatchlistSnooze { until reason actor }",
            lambda s: {
                "id": gid("Watchlist", s.watchlist),
                "until": "2099-01-01T00:00:00+00:00",
                "reason": "促销活动期间误报",
            },
            response.SnoozeWatchlist,
        ),
        op(
            "setPlaybook",
            "$input: SetPlaybookInput!",
            "input: $input",
            "... on Playbook { tier crisisType team { role count } "
            "tasks { kind dueAfterMinutes role channel } }",
            lambda s: {"input": PLAYBOOK},
            response.SetPlaybook,
            admin_only=True,
            takes_ids=False,
        ),
        op(
            "draftStatement",
            "$id: ID!, $channel: Channel!, $body: String!",
            "incidentId: $id, channel: $channel, body: $body",
            STATEMENT,
            lambda s: {
                "id": gid("Incident", s.incident),
                "channel": "WECHAT",
                "body": "涉事批次 20250301 已全部下架送检。",
            },
            response.DraftStatement,
        ),
        op(
            "reviseStatement",
            "$id: ID!, $body: String!",
            "id: $id, body: $body",
            STATEMENT,
            lambda s: {"id": gid("Statement", s.statement), "body": "修订后的说明"},
            response.ReviseStatement,
        ),
        op(
            "reviewStatement",
            "$id: ID!, $stage: ReviewStage!, $decision: ReviewDecision!, $note: String",
            "id: $id, stage: $stage, decision: $decision, note: $note",
            STATEMENT,
            lambda s: {
                "id": gid("Statement", s.statement),
                "stage": "LEVEL_1",
                "decision": "APPROVE",
                "note": "措辞可以",
            },
            response.ReviewStatement,
        ),
        op(
            "publishStatement",
            "$id: ID!, $url: String!, $at: DateTime!",
            "id: $id, url: $url, publishedAt: $at",
            STATEMENT,
            lambda s: {
                "id": gid("Statement", s.statement),
                "url": "https://weibo.com/helan/1",
                "at": "2025-03-15T11:00:00",
            },
            response.PublishStatement,
        ),
        op(
            "updateReview",
            "$id: ID!, $cause: String, $improvements: [ImprovementInput!]",
            "incidentId: $id, rootCause: $cause, improvements: $improvements",
            REVIEW,
            lambda s: {
                "id": gid("Incident", s.incident),
                "cause": "质检漏检",
                "improvements": [{"action": "增加批次抽检", "owner": "品控部"}],
            },
            response.UpdateReview,
        ),
        op(
            "completeReview",
            "$id: ID!",
            "incidentId: $id",
            REVIEW,
            lambda s: {"id": gid("Incident", s.incident)},
            response.CompleteReview,
        ),
        op(
            "addAffectedUser",
            "$input: AddAffectedUserInput!",
            "input: $input",
            "... on AffectedUser { nameMasked contactKind contactMasked "
            "followUps { databaseId kind dueAt } }",
            lambda s: {
                "input": {
                    "incidentId": gid("Incident", s.incident),
                    "name": "欧阳娜娜",
                    "contactKind": "PHONE",
                    "contact": "139 8765 4321",
                    "followUpDueAt": "2025-03-16T08:00:00Z",
                }
            },
            response.AddAffectedUser,
        ),
        op(
            "completeFollowUp",
            "$id: UUID!, $note: String",
            "id: $id, note: $note",
            "... on FollowUp { databaseId status note }",
            lambda s: {"id": str(s.follow_up), "note": "已电话回访"},
            response.CompleteFollowUp,
        ),
        op(
            "fileReply",
            "$input: FileReplyInput!",
            "input: $input",
            "... on ReplyCase { category text reply }",
            lambda s: {
                "input": {
                    "incidentId": gid("Incident", s.incident),
                    "category": "产品质量",
                    "text": "奶粉喝了拉肚子怎么办？",
                    "reply": "请保留批次信息，我们将安排专人回访。",
                }
            },
            response.FileReply,
        ),
        op(
            "createWebhookEndpoint",
            "$input: CreateWebhookEndpointInput!",
            "input: $input",
            "... on WebhookEndpointCreated { secret "
            "endpoint { id databaseId name kind url eventTypes } }",
            lambda s: {
                "input": {
                    "name": "工单系统",
                    "url": "https://hooks.example.com/in?sig=abcdefghijklmnopq",
                    "eventTypes": ["INCIDENT_OPENED", "STATEMENT_PUBLISHED"],
                }
            },
            notify.CreateWebhookEndpoint,
            admin_only=True,
            takes_ids=False,
        ),
        op(
            "updateWebhookEndpoint",
            "$input: UpdateWebhookEndpointInput!",
            "input: $input",
            ENDPOINT,
            lambda s: {
                "input": {
                    "id": gid("WebhookEndpoint", s.endpoint),
                    "name": "新工单系统",
                    "eventTypes": ["TASK_OVERDUE"],
                    "enabled": True,
                }
            },
            notify.UpdateWebhookEndpoint,
            admin_only=True,
        ),
        op(
            "rotateWebhookSecret",
            "$id: ID!",
            "id: $id, overlapHours: 48",
            "... on WebhookSecretRotated { secret previousSecretExpiresAt "
            "endpoint { databaseId } }",
            lambda s: {"id": gid("WebhookEndpoint", s.endpoint)},
            notify.RotateWebhookSecret,
            admin_only=True,
        ),
        op(
            "deleteWebhookEndpoint",
            "$id: ID!",
            "id: $id",
            "... on WebhookEndpointDeleted { deletedId databaseId }",
            lambda s: {"id": gid("WebhookEndpoint", s.endpoint)},
            notify.DeleteWebhookEndpoint,
            admin_only=True,
        ),
        op(
            "redeliverWebhook",
            "$id: ID!",
            "id: $id",
            "... on WebhookDelivery { databaseId status nextAttemptAt }",
            lambda s: {"id": gid("WebhookDelivery", s.delivery)},
            notify.RedeliverWebhook,
            admin_only=True,
        ),
        op(
            "setWebhookPolicy",
            "$allow: Boolean!",
            "allowPrivateDestinations: $allow",
            "... on WebhookPolicy { allowPrivateDestinations updatedAt }",
            lambda s: {"allow": False},
            notify.SetWebhookPolicy,
            admin_only=True,
            takes_ids=False,
        ),
    ]
}


# ------------------------------------------------------------------- the input forms


@dataclass(frozen=True)
class InputForm:
    """The `input:` form of a positional mutation: its name, its input type, and how the
    positional document's variables become the input's fields (`names`), with `fixed` fields
    the positional document spelled inline and `spare` variables where running both forms on
    one seed needs another row (a deleted endpoint cannot be deleted twice)."""

    field: str
    input_type: str
    names: dict[str, str]
    fixed: dict[str, Any] = dataclasses.field(default_factory=dict)
    spare: Callable[[Seed], dict[str, Any]] | None = None


INPUT_FORMS: dict[str, InputForm] = {
    "acknowledgeIncident": InputForm(
        "incidentAcknowledge", "IncidentAcknowledgeInput", {"id": "id", "note": "note"}
    ),
    "transitionIncident": InputForm(
        "incidentTransition",
        "IncidentTransitionInput",
        {"id": "id", "to": "toStatus", "reason": "reason", "into": "mergeIntoId"},
    ),
    "changeIncidentTier": InputForm(
        "incidentChangeTier",
        "IncidentChangeTierInput",
        {"id": "id", "tier": "tier", "reason": "reason"},
    ),
    "assignRole": InputForm(
        "incidentAssignRole",
        "IncidentAssignRoleInput",
        {"id": "id", "role": "role", "person": "person"},
    ),
    "setKeyFacts": InputForm(
        "incidentSetKeyFacts", "IncidentSetKeyFactsInput", {"id": "id", "facts": "facts"}
    ),
    "completeTask": InputForm(
        "responseTaskComplete", "ResponseTaskCompleteInput", {"id": "id", "note": "note"}
    ),
    "snoozeWatchlist": InputForm(
        "watchlistSnooze",
        "WatchlistSnoozeInput",
        {"id": "id", "until": "until", "reason": "reason"},
    ),
    "draftStatement": InputForm(
        "statementDraft",
        "StatementDraftInput",
        {"id": "incidentId", "channel": "channel", "body": "body"},
    ),
    "reviseStatement": InputForm(
        "statementRevise", "StatementReviseInput", {"id": "id", "body": "body"}
    ),
    "reviewStatement": InputForm(
        "statementReview",
        "StatementReviewInput",
        {"id": "id", "stage": "stage", "decision": "decision", "note": "note"},
    ),
    "publishStatement": InputForm(
        "statementPublish",
        "StatementPublishInput",
        {"id": "id", "url": "url", "at": "publishedAt"},
    ),
    "updateReview": InputForm(
        "reviewUpdate",
        "ReviewUpdateInput",
        {"id": "incidentId", "cause": "rootCause", "improvements": "improvements"},
    ),
    "completeReview": InputForm("reviewComplete", "ReviewCompleteInput", {"id": "incidentId"}),
    "completeFollowUp": InputForm(
        "followUpComplete", "FollowUpCompleteInput", {"id": "id", "note": "note"}
    ),
    "rotateWebhookSecret": InputForm(
        "webhookEndpointRotateSecret",
        "WebhookEndpointRotateSecretInput",
        {"id": "id"},
        fixed={"overlapHours": 48},
    ),
    "deleteWebhookEndpoint": InputForm(
        "webhookEndpointDelete",
        "WebhookEndpointDeleteInput",
        {"id": "id"},
        spare=lambda s: {"id": gid("WebhookEndpoint", s.spare_endpoint)},
    ),
    "redeliverWebhook": InputForm(
        "webhookDeliveryResend", "WebhookDeliveryResendInput", {"id": "id"}
    ),
}
# The input forms select `code` on every refusal, which the positional documents never did.
CODED = "... on Refusal { message code }"


def as_input(name: str, variables: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Return the input form of positional mutation `name` and `variables` as its input."""
    form = INPUT_FORMS[name]
    given = {form.names[key]: value for key, value in variables.items()}
    return form.field, {"input": given | form.fixed}


def _input_op(name: str) -> Op:
    positional, form = OPS[name], INPUT_FORMS[name]
    refusals = positional.refusals.replace("... on Refusal { message }", CODED)
    if name == "acknowledgeIncident":  # the input form answers every refusal (IncidentResult)
        refusals = CODED + " ... on InvalidInput { field }" + CONFLICT + TRANSITION

    def variables(s: Seed) -> dict[str, Any]:
        return as_input(name, form.spare(s) if form.spare else positional.variables(s))[1]

    return op(
        form.field,
        f"$input: {form.input_type}!",
        "input: $input",
        positional.selection,
        variables,
        positional.command,
        refusals,
        admin_only=positional.admin_only,
        takes_ids=positional.takes_ids,
    )


OPS |= {INPUT_FORMS[name].field: _input_op(name) for name in INPUT_FORMS}

ACKNOWLEDGE_INPUT = document(
    "incidentAcknowledge",
    "$input: IncidentAcknowledgeInput!",
    "input: $input",
    ACKNOWLEDGED,
    CODED + " ... on InvalidInput { field }" + CONFLICT + TRANSITION,
)
# The code each refusal type must carry, spelled out here rather than read from the code.
CODE_OF = {
    "NotFound": "NOT_FOUND",
    "Forbidden": "FORBIDDEN",
    "Conflict": "CONFLICT",
    "InvalidInput": "INVALID_INPUT",
    "InvalidTransition": "INVALID_TRANSITION",
    "QuotaExceeded": "QUOTA_EXCEEDED",
}


def written(form: str, name: str, variables: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Return the document and variables that send positional mutation `name` in `form`."""
    if form == "positional" or name not in INPUT_FORMS:
        return OPS[name].document, variables
    field, given = as_input(name, variables)
    return OPS[field].document, given


def uncoded(result: dict[str, Any]) -> dict[str, Any]:
    """Return an input form's answer as its positional form gives it: a refusal's `code`,
    which must be its type's, taken off."""
    kind = result["__typename"]
    if kind in CODE_OF:
        assert result.pop("code") == CODE_OF[kind], result
    return result
