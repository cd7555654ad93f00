"""Two organizations × every role × every query, mutation, subscription and REST route.

The gateway and the ingest API run under uvicorn on real sockets, and the real analysis,
incidents and notify workers apply every command. Each operation is sent with the keys of
both organizations in each role, and the answers are held to the tenancy rules:

- nothing of one organization ever appears in another's answer (its row ids are looked for
  everywhere, raw and inside global ids);
- ingest keys cannot use GraphQL, viewers change nothing, responders cannot do what only
  admins may, and another organization's ids are not found;
- the first organization's rows are byte-for-byte the same after every refused attempt.

The catalogue must name every root field of the schema and every REST route, so a new
operation cannot ship without a place in the matrix.
"""

import asyncio
import base64
import binascii
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import select as sa_select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.app import create_app as create_gateway
from gateway.config import GatewaySettings
from gateway.live_hub import LiveHub
from gateway.schema import build_schema
from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import gid
from gateway.tests.subscription_support import LiveClient, Refused, bearer, live_client
from gateway.tests.war_room_ops import OPS, Seed, seed
from libs.auth.admin import create_key
from libs.contracts.backtests import BacktestFindings, BacktestStatus, WouldOpen
from libs.contracts.enums import Role, Sentiment, Tier
from libs.database.engine import transaction
from libs.database.tables import (
    AuditEntry,
    Backtest,
    Drill,
    EvidenceBundle,
    EvidenceItem,
    FollowUpTask,
    ImprovementAction,
    Incident,
    IncidentPartner,
    Mention,
    OwnAccount,
    Page,
    Partner,
    Person,
    Playbook,
    QuietPeriod,
    ResponseTask,
    RiskCheck,
    Rota,
    RotaOverride,
    SituationReport,
    StatementTemplate,
    Watchlist,
    metadata,
)
from libs.documents.signing import new_key
from libs.messaging import live
from libs.privacy import generate_key
from libs.settings import Settings
from services.analysis.worker import create_worker as analysis_worker
from services.incidents.config import IncidentsSettings
from services.incidents.risk_check import service as risk_check
from services.incidents.worker import create_worker as incidents_worker
from services.ingest.app import create_app as create_ingest
from services.notify.worker import create_worker as notify_worker
from tests.builders import Tenant, make_tenant
from tests.fixtures.http import serving
from tests.fixtures.servers import Servers
from tests.fixtures.workers import running_workers

READERS = (Role.VIEWER, Role.RESPONDER, Role.ADMIN)
REFUSED = "... on Refusal { message } ... on InvalidInput { field }"


@dataclass(frozen=True)
class Org:
    """One organization: its keys, the rows mutations act on, and a spare key to revoke."""

    tenant: Tenant
    seed: Seed
    spare_key: uuid.UUID
    incident_signal: uuid.UUID
    risk_check: uuid.UUID
    backtest: uuid.UUID
    own_account: uuid.UUID
    partner: uuid.UUID
    evidence: uuid.UUID
    report: uuid.UUID
    improvement: uuid.UUID
    person: uuid.UUID
    page: uuid.UUID
    drill: uuid.UUID


@dataclass(frozen=True)
class World:
    gateway: str
    gateway_app: FastAPI
    ingest: str
    acme: Org
    rival: Org
    sessions: async_sessionmaker[AsyncSession]
    redis_url: str

    def orgs(self) -> tuple[tuple[str, Org], ...]:
        return (("acme", self.acme), ("rival", self.rival))


# ---------------------------------------------------------------- the catalogue: queries


@dataclass(frozen=True)
class Read:
    """A query and whether the owner's answer must name at least one of its rows."""

    document: str
    variables: Callable[[Org], dict[str, Any]] = lambda org: {}
    names_rows: bool = True
    admin_only: bool = False
    # Whether the variables name rows; only then is it asked about each organization's rows.
    takes_ids: bool = False


def _page(field: str, selection: str = "databaseId") -> Read:
    return Read(f"{{ {field}(first: 50) {{ edges {{ node {{ {selection} }} }} }} }}")


QUERIES: dict[str, Read] = {
    "node": Read(
        "query($id: ID!) { node(id: $id) { id } }",
        lambda org: {"id": gid("Incident", org.seed.incident)},
        takes_ids=True,
    ),
    "mention": Read(
        "query($id: ID!) { mention(id: $id) { databaseId text complaint { orderIdMasked } } }",
        lambda org: {"id": gid("Mention", org.seed.mention)},
        takes_ids=True,
    ),
    "incident": Read(
        """query($id: ID!) { incident(id: $id) { databaseId tasks { databaseId }
             statements { databaseId } affectedUsers { databaseId contactMasked }
             latestSignal { databaseId } } }""",
        lambda org: {"id": gid("Incident", org.seed.incident)},
        takes_ids=True,
    ),
    "story": Read(
        "query($id: ID!) { story(id: $id) { databaseId firstMention { databaseId } } }",
        lambda org: {"id": gid("Story", org.seed.mention)},  # replaced per world below
        takes_ids=True,
    ),
    "mentions": _page("mentions", "databaseId author { handle } analysis { sentiment }"),
    "incidents": _page("incidents"),
    "stories": _page("stories"),
    "signals": _page("signals"),
    "tasks": _page("tasks"),
    "statements": _page("statements"),
    "reviewReports": _page("reviewReports"),
    "riskChecks": _page("riskChecks", "databaseId openIncidents { incident { databaseId } }"),
    "riskCheck": Read(
        "query($id: ID!) { riskCheck(id: $id) { databaseId watchlists { name } } }",
        lambda org: {"id": gid("RiskCheck", org.risk_check)},
        takes_ids=True,
    ),
    "backtest": Read(
        """query($id: ID!) { backtest(id: $id) { databaseId watchlist { databaseId }
             wouldOpen { incidents { databaseId } } recordedIncidents { incident { databaseId } }
             falseAlarmsRaised } }""",
        lambda org: {"id": gid("Backtest", org.backtest)},
        takes_ids=True,
    ),
    "backtests": _page("backtests", "databaseId watchlist { databaseId }"),
    "ownAccounts": _page("ownAccounts", "databaseId handle"),
    "statementTemplates": _page("statementTemplates", "databaseId version body"),
    "situationReports": _page("situationReports", "databaseId incident { databaseId }"),
    "partners": _page("partners", "databaseId name"),
    "followUps": _page("followUps", "databaseId feedback affectedUser { databaseId }"),
    "partnerStandings": _page(
        "partnerStandings", "databaseId partner { databaseId } incident { databaseId }"
    ),
    "evidenceBundles": _page("evidenceBundles", "databaseId incident { databaseId }"),
    "evidenceBundle": Read(
        """query($id: ID!) { evidenceBundle(id: $id) { databaseId items { mentionId }
             export { json } } }""",
        lambda org: {"id": gid("EvidenceBundle", org.evidence)},
        takes_ids=True,
    ),
    "quietPeriods": _page("quietPeriods", "databaseId incident { databaseId }"),
    "drills": _page("drills", "databaseId watchlist { databaseId } scoreCard { deadlinesMet }"),
    "drill": Read(
        """query($id: ID!) { drill(id: $id) { databaseId watchlist { databaseId }
             scoreCard { deadlinesMet participants document } } }""",
        lambda org: {"id": gid("Drill", org.drill)},
        takes_ids=True,
    ),
    "authors": _page("authors"),
    "watchlistsConnection": _page("watchlistsConnection"),
    "webhookDeliveries": _page("webhookDeliveries"),
    "watchlists": Read("{ watchlists { databaseId name } }"),
    "sensitiveTerms": Read("{ sensitiveTerms { term weight } }", names_rows=False),
    "playbooks": Read("{ playbooks { tier } }", names_rows=False),
    "webhookEndpoints": Read("{ webhookEndpoints { databaseId name } }"),
    "webhookPolicy": Read("{ webhookPolicy { allowPrivateDestinations } }", names_rows=False),
    "apiKeys": Read("{ apiKeys { databaseId role } }", admin_only=True),
    "apiKeysConnection": Read(
        "{ apiKeysConnection(first: 50) { nodes { databaseId role } } }", admin_only=True
    ),
    "sensitiveTermsConnection": Read(
        "{ sensitiveTermsConnection(first: 50) { nodes { term weight } } }", names_rows=False
    ),
    "people": _page("people", "databaseId name contacts { value }"),
    "rotas": Read(
        """{ rotas { databaseId people { databaseId } timeZone
             overrides { databaseId person { databaseId } } } }"""
    ),
    "onCall": Read(
        """query($at: DateTime) { onCall(role: MONITOR, at: $at) {
             person { databaseId } since overridden } }""",
        lambda org: {"at": (T0 + timedelta(days=1)).isoformat()},
    ),
    "pages": _page("pages", "databaseId person { databaseId } incident { databaseId }"),
    # The matrix's keys are service accounts' keys: they act for nobody.
    "actingPerson": Read("{ actingPerson { databaseId } }", names_rows=False),
    "auditLog": Read(
        "{ auditLog(first: 50) { edges { node { databaseId entityId person { databaseId } } } } }",
        admin_only=True,
    ),
    # Admin only (or the incident's commander); a nullable field, so a refusal is null + error.
    "incidentArchive": Read(
        "query($id: ID!) { incidentArchive(id: $id) { sha256 incident { databaseId } } }",
        lambda org: {"id": gid("Incident", org.seed.incident)},
        admin_only=True,
        takes_ids=True,
    ),
    # No dead letters are seeded: gateway/tests/test_dead_letters.py shows another's stay hidden.
    "deadLetters": Read("{ deadLetters { messageId error } }", names_rows=False, admin_only=True),
    "deadLettersConnection": Read(
        "{ deadLettersConnection(first: 50) { nodes { messageId error } } }",
        names_rows=False,
        admin_only=True,
    ),
    "mentionFailuresConnection": Read(
        "{ mentionFailuresConnection(first: 50) { nodes { reason mention { databaseId } } } }",
        names_rows=False,
        admin_only=True,
    ),
    "mentionFailures": Read(
        "{ mentionFailures { reason mention { databaseId } } }", names_rows=False, admin_only=True
    ),
    "dashboard": Read(
        """query($since: DateTime!, $until: DateTime!) { dashboard(since: $since, until: $until) {
             volume(bucket: DAY) { total negative }
             shareOfVoice { watchlist { databaseId } mentions }
             brands: shareOfVoice(kinds: [OWN_BRAND]) { watchlist { databaseId } mentionTotal }
             platforms { platform mentionTotal negative }
             topTerms(kind: KEYWORD) { term mentions }
             topAuthors { databaseId mentionCount }
             incidents { detected acknowledged deadlinesMet deadlinesMissed } } }""",
        lambda org: {
            "since": (T0 - timedelta(days=2)).isoformat(),
            "until": (T0 + timedelta(days=2)).isoformat(),
        },
    ),
    "similarReplies": Read(
        """query($text: String!) { similarReplies(text: $text) {
             similarity case { databaseId } incident { databaseId } } }""",
        lambda org: {"text": "这款奶粉喝了以后宝宝拉肚子，客服一直不回复"},
    ),
}


# -------------------------------------------------------------- the catalogue: mutations


@dataclass(frozen=True)
class Write:
    """A mutation, the rows it names, and who may run it."""

    document: str
    variables: Callable[[Org], dict[str, Any]]
    admin_only: bool = False
    takes_ids: bool = True


def _from_ops(name: str) -> Write:
    found = OPS[name]
    return Write(
        found.document,
        lambda org, found=found: found.variables(org.seed),  # type: ignore[misc]
        admin_only=found.admin_only,
        takes_ids=found.takes_ids,
    )


MUTATIONS: dict[str, Write] = {name: _from_ops(name) for name in OPS}
MUTATIONS |= {
    "createWatchlist": Write(
        f"""mutation($input: CreateWatchlistInput!) {{ createWatchlist(input: $input) {{
              __typename ... on Watchlist {{ databaseId }} {REFUSED} }} }}""",
        lambda org: {"input": {"name": f"新品{uuid.uuid4().hex[:6]}", "query": "奶粉 & 召回"}},
        takes_ids=False,
    ),
    "updateWatchlist": Write(
        f"""mutation($input: UpdateWatchlistInput!) {{ updateWatchlist(input: $input) {{
              __typename ... on Watchlist {{ databaseId }} {REFUSED} }} }}""",
        lambda org: {"input": {"id": gid("Watchlist", org.seed.watchlist), "query": "奶粉"}},
    ),
    "setSensitiveTerms": Write(
        f"""mutation($input: SetSensitiveTermsInput!) {{ setSensitiveTerms(input: $input) {{
              __typename {REFUSED} }} }}""",
        lambda org: {"input": {"upsert": [{"term": "过期", "category": "SAFETY", "weight": 0.7}]}},
        takes_ids=False,
    ),
    "acknowledgeIncident": Write(
        """mutation($id: ID!) { acknowledgeIncident(id: $id) {
              __typename ... on Incident { databaseId status } ... on Refusal { message } } }""",
        lambda org: {"id": gid("Incident", org.seed.other_incident)},
    ),
    "createApiKey": Write(
        f"""mutation {{ createApiKey(name: "矩阵", role: VIEWER) {{
              __typename ... on ApiKeyCreated {{ apiKey {{ databaseId }} }} {REFUSED} }} }}""",
        lambda org: {},
        admin_only=True,
        takes_ids=False,
    ),
    "backtestWatchlist": Write(
        f"""mutation($input: BacktestWatchlistInput!) {{ backtestWatchlist(input: $input) {{
              __typename ... on Backtest {{ databaseId }} {REFUSED} }} }}""",
        lambda org: {
            "input": {
                "watchlistId": gid("Watchlist", org.seed.watchlist),
                "since": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
                "until": datetime.now(UTC).isoformat(),
                "query": "奶粉 & 拉肚子",
            }
        },
    ),
    "addOwnAccount": Write(
        f"""mutation($input: AddOwnAccountInput!) {{ addOwnAccount(input: $input) {{
              __typename ... on OwnAccount {{ databaseId }} {REFUSED} }} }}""",
        lambda org: {"input": {"platform": "WEIBO", "handle": f"官方{uuid.uuid4().hex[:6]}"}},
        takes_ids=False,
    ),
    "updateOwnAccount": Write(
        f"""mutation($input: UpdateOwnAccountInput!) {{ updateOwnAccount(input: $input) {{
              __typename ... on OwnAccount {{ databaseId }} {REFUSED} }} }}""",
        lambda org: {"input": {"id": gid("OwnAccount", org.own_account), "owner": "品牌部"}},
    ),
    "startDrill": Write(
        f"""mutation($input: StartDrillInput!) {{ startDrill(input: $input) {{
              __typename ... on Drill {{ databaseId }} {REFUSED} }} }}""",
        lambda org: {"input": {"replayIncidentId": gid("Incident", org.seed.incident)}},
    ),
    "endDrill": Write(
        f"""mutation($input: EndDrillInput!) {{ endDrill(input: $input) {{
              __typename ... on Drill {{ databaseId state }} {REFUSED} }} }}""",
        lambda org: {"input": {"id": gid("Drill", org.drill)}},
    ),
    "addPartner": Write(
        f"""mutation($input: AddPartnerInput!) {{ addPartner(input: $input) {{
              __typename ... on Partner {{ databaseId }} {REFUSED} }} }}""",
        lambda org: {"input": {"name": f"公关{uuid.uuid4().hex[:6]}", "kind": "AGENCY"}},
        takes_ids=False,
    ),
    "updatePartner": Write(
        f"""mutation($input: UpdatePartnerInput!) {{ updatePartner(input: $input) {{
              __typename ... on Partner {{ databaseId }} {REFUSED} }} }}""",
        lambda org: {"input": {"id": gid("Partner", org.partner), "note": "年框合作"}},
    ),
    "setPartnerStatus": Write(
        f"""mutation($input: SetPartnerStatusInput!) {{ setPartnerStatus(input: $input) {{
              __typename ... on PartnerStanding {{ databaseId }} {REFUSED} }} }}""",
        lambda org: {
            "input": {
                "incidentId": gid("Incident", org.seed.incident),
                "partnerId": gid("Partner", org.partner),
                "status": "INFORMED",
            }
        },
    ),
    "createEvidenceBundle": Write(
        f"""mutation($input: CreateEvidenceBundleInput!) {{ createEvidenceBundle(input: $input) {{
              __typename ... on EvidenceBundle {{ databaseId }} {REFUSED} }} }}""",
        lambda org: {
            "input": {
                "incidentId": gid("Incident", org.seed.incident),
                "title": "谣言举报材料",
                "purpose": "LEGAL",
                "items": [{"mentionId": gid("Mention", org.seed.mention)}],
            }
        },
    ),
    "addEvidence": Write(
        f"""mutation($input: AddEvidenceInput!) {{ addEvidence(input: $input) {{
              __typename ... on EvidenceBundle {{ databaseId }} {REFUSED} }} }}""",
        lambda org: {
            "input": {
                "bundleId": gid("EvidenceBundle", org.evidence),
                "items": [{"mentionId": gid("Mention", org.seed.mention)}],
            }
        },
    ),
    "draftStatementSuggestion": Write(
        f"""mutation($input: DraftStatementSuggestionInput!) {{
              draftStatementSuggestion(input: $input) {{
              __typename ... on StatementSuggestion {{ text }} {REFUSED} }} }}""",
        lambda org: {
            "input": {"incidentId": gid("Incident", org.seed.incident), "channel": "WEIBO"}
        },
    ),
    "setStatementTemplate": Write(
        f"""mutation($input: SetStatementTemplateInput!) {{ setStatementTemplate(input: $input) {{
              __typename ... on StatementTemplate {{ databaseId }} {REFUSED} }} }}""",
        lambda org: {
            "input": {"stage": "FIRST_RESPONSE", "channel": "WEIBO", "body": "{{品牌}}致歉"}
        },
        admin_only=True,
        takes_ids=False,
    ),
    "sendSituationReport": Write(
        f"""mutation($input: SendSituationReportInput!) {{ sendSituationReport(input: $input) {{
              __typename ... on SituationReport {{ databaseId }} {REFUSED} }} }}""",
        lambda org: {"input": {"id": gid("SituationReport", org.report), "overview": "进展"}},
    ),
    "revealContact": Write(
        f"""mutation($input: RevealContactInput!) {{ revealContact(input: $input) {{
              __typename ... on RevealedContact {{ contactMasked }} {REFUSED} }} }}""",
        # Nobody is assigned the seeded follow-up: the owner's keys get a Conflict, not it.
        lambda org: {"input": {"followUpId": str(org.seed.follow_up), "reason": "回访致歉"}},
    ),
    "followUpUpdate": Write(
        f"""mutation($input: FollowUpUpdateInput!) {{ followUpUpdate(input: $input) {{
              __typename ... on FollowUp {{ databaseId dueAt }} {REFUSED} }} }}""",
        lambda org: {"input": {"id": str(org.seed.follow_up), "dueAt": "2030-01-01T08:00:00Z"}},
    ),
    "improvementActionUpdate": Write(
        f"""mutation($input: ImprovementActionUpdateInput!) {{
              improvementActionUpdate(input: $input) {{
              __typename ... on ImprovementAction {{ databaseId }} {REFUSED} }} }}""",
        lambda org: {"input": {"id": str(org.improvement), "state": "IN_PROGRESS"}},
    ),
    "revokeApiKey": Write(
        f"""mutation($id: ID!) {{ revokeApiKey(id: $id) {{
              __typename ... on ApiKey {{ databaseId }} {REFUSED} }} }}""",
        lambda org: {"id": gid("ApiKey", org.spare_key)},
        admin_only=True,
    ),
    "requestLegalReview": Write(
        f"""mutation($input: RequestLegalReviewInput!) {{ requestLegalReview(input: $input) {{
              __typename ... on RequestLegalReviewPayload {{ statement {{ databaseId }} }}
              {REFUSED} }} }}""",
        lambda org: {
            "input": {"statementId": gid("Statement", org.seed.statement), "reason": "涉及赔偿"}
        },
    ),
    "createPerson": Write(
        f"""mutation($input: CreatePersonInput!) {{ createPerson(input: $input) {{
              __typename ... on CreatePersonPayload {{ person {{ databaseId }} }}
              {REFUSED} }} }}""",
        lambda org: {"input": {"name": "矩阵新人"}},
        admin_only=True,
        takes_ids=False,
    ),
    "updatePerson": Write(
        f"""mutation($input: UpdatePersonInput!) {{ updatePerson(input: $input) {{
              __typename ... on UpdatePersonPayload {{ person {{ databaseId }} }}
              {REFUSED} }} }}""",
        lambda org: {"input": {"id": gid("Person", org.person), "name": "矩阵值班"}},
        admin_only=True,
    ),
    "issuePersonKey": Write(
        f"""mutation($input: IssuePersonKeyInput!) {{ issuePersonKey(input: $input) {{
              __typename ... on IssuePersonKeyPayload {{ apiKey {{ databaseId }} }}
              {REFUSED} }} }}""",
        lambda org: {"input": {"personId": gid("Person", org.person), "role": "VIEWER"}},
        admin_only=True,
    ),
    "deactivatePerson": Write(
        f"""mutation($input: DeactivatePersonInput!) {{ deactivatePerson(input: $input) {{
              __typename ... on DeactivatePersonPayload {{ person {{ databaseId }} }}
              {REFUSED} }} }}""",
        lambda org: {"input": {"id": gid("Person", org.person)}},
        admin_only=True,
    ),
    "apiKeyCreate": Write(
        f"""mutation {{ apiKeyCreate(input: {{name: "矩阵", role: VIEWER}}) {{
              __typename ... on ApiKeyCreated {{ apiKey {{ databaseId }} }} {REFUSED} }} }}""",
        lambda org: {},
        admin_only=True,
        takes_ids=False,
    ),
    "setRota": Write(
        f"""mutation($input: SetRotaInput!) {{ setRota(input: $input) {{
              __typename ... on Rota {{ databaseId }} {REFUSED} }} }}""",
        lambda org: {
            "input": {
                "role": "ANALYST",
                "people": [gid("Person", org.person)],
                "handoffWeekday": 0,
                "handoffTime": "09:00:00",
            }
        },
        admin_only=True,
    ),
    "setRotaOverride": Write(
        f"""mutation($input: SetRotaOverrideInput!) {{ setRotaOverride(input: $input) {{
              __typename ... on RotaOverride {{ databaseId }} {REFUSED} }} }}""",
        lambda org: {
            "input": {
                "role": "MONITOR",
                "personId": gid("Person", org.person),
                "startsAt": (T0 + timedelta(days=3)).isoformat(),
                "endsAt": (T0 + timedelta(days=4)).isoformat(),
            }
        },
    ),
    "acknowledgePage": Write(
        f"""mutation($input: AcknowledgePageInput!) {{ acknowledgePage(input: $input) {{
              __typename ... on Page {{ databaseId acknowledgedAt }} {REFUSED} }} }}""",
        lambda org: {"input": {"id": gid("Page", org.page)}},
    ),
    "apiKeyRevoke": Write(
        f"""mutation($input: ApiKeyRevokeInput!) {{ apiKeyRevoke(input: $input) {{
              __typename ... on ApiKey {{ databaseId }} {REFUSED} }} }}""",
        lambda org: {"input": {"id": gid("ApiKey", org.spare_key)}},
        admin_only=True,
    ),
}

# Deleting the endpoint and deactivating the person go last: other mutations need them.
LAST = {"deleteWebhookEndpoint", "deactivatePerson"}
# RFC 9457 members: a refused read answers with these and nothing of the row.
PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "errors"}

SUBSCRIPTIONS: dict[str, str] = {
    "mentions": "subscription { mentions { databaseId } }",
    "riskSignals": "subscription { riskSignals { databaseId } }",
    "incidentUpdates": "subscription { incidentUpdates { change incident { databaseId } } }",
}

# Every REST route of the ingest API, by method and path template.
REST_ROUTES = {
    ("POST", "/v1/mentions"),
    ("GET", "/v1/mentions/{mention_id}"),
    ("POST", "/v1/complaints"),
    ("GET", "/v1/complaints/{complaint_id}"),
    ("GET", "/healthz"),
}
# The gateway's REST routes: the incident archive's files and the key that checks them.
GATEWAY_REST_ROUTES = {
    ("GET", "/v1/incidents/{incident_id}/archive.json"),
    ("GET", "/v1/incidents/{incident_id}/archive.html"),
    ("GET", "/v1/incidents/{incident_id}/review-report.html"),
    ("GET", "/v1/archive/signing-key"),
}


# ------------------------------------------------------------------------------ set-up


async def _seed_org(sessions: async_sessionmaker[AsyncSession], tenant: Tenant) -> Org:
    """Store what every read and write acts on, for one organization."""
    made = await seed(sessions, tenant.org.id)
    async with transaction(sessions) as session:
        org_id = tenant.org.id
        watched = await session.get(Watchlist, made.watchlist)
        posted = await session.get(Mention, made.mention)
        opened = await session.get(Incident, made.incident)
        assert watched is not None and posted is not None and opened is not None
        poster = await builders.author(session, org_id)
        posted.author_id = poster.id
        await builders.analysis(session, posted, Sentiment.NEGATIVE, [watched])
        story = await builders.story(session, posted)
        await builders.watchlist_hit(session, watched, posted, story)
        signal = await builders.signal(session, watched, Tier.ORANGE, story_id=story.id)
        opened.last_signal_id = signal.id
        await builders.review(session, opened, root_cause="质检漏检")
        await builders.sensitive_term(session, org_id, "维权", "rights", 0.8)
        session.add(Playbook(organization_id=org_id, tier="red", team=[], tasks=[]))
        spare = await create_key(session, tenant.org, Role.VIEWER)
        duty = Person(
            organization_id=org_id,
            name="值班经理",
            contacts=[{"channel": "phone", "value": "13812345678"}],
        )
        session.add(duty)
        await session.flush()
        session.add(
            AuditEntry(
                organization_id=org_id,
                entity_kind="person",
                entity_id=duty.id,
                action="create",
                after={"name": duty.name},
                actor="system",
                occurred_at=T0,
            )
        )
        # Deadlines far ahead: the deadline watchdog must not change rows while refused
        # attempts are checked for leaving everything as it was.
        await session.exec(
            update(ResponseTask)
            .where(col(ResponseTask.organization_id) == org_id)
            .values(due_at=datetime.now(UTC) + timedelta(days=7))
        )
        # The follow-up deadline pass likewise: a visit due in the past would be announced
        # overdue in the middle of the refused attempts.
        await session.exec(
            update(FollowUpTask)
            .where(col(FollowUpTask.organization_id) == org_id)
            .values(due_at=datetime.now(UTC) + timedelta(days=7))
        )
        # A daily risk check of the rows above, as the incidents worker stores it.
        check_id = uuid.uuid4()
        found = await risk_check.report(
            session, org_id, check_id=check_id, day=T0.date(), time_zone="Asia/Shanghai", now=T0
        )
        session.add(
            RiskCheck(
                id=check_id,
                organization_id=org_id,
                day=T0.date(),
                time_zone="Asia/Shanghai",
                checked_at=T0,
                report=found.body(),
            )
        )
        # A finished backtest whose opening coincides with the organization's incident.
        replayed = Backtest(
            organization_id=org_id,
            watchlist_id=watched.id,
            query=watched.query,
            since=opened.detected_at - timedelta(hours=1),
            until=opened.detected_at + timedelta(hours=1),
            status=BacktestStatus.DONE,
            requested_by="matrix",
            result=BacktestFindings(
                tier_changes=[],
                would_open=[
                    WouldOpen(opened_at=opened.detected_at, peak_tier=Tier.ORANGE, ended_at=None)
                ],
            ).model_dump(mode="json"),
        )
        session.add(replayed)
        # An own account, and a quiet period of the incident as the incidents worker keeps it;
        # the account paused no more, so the quiet-period pass starts no period of its own.
        account = OwnAccount(
            organization_id=org_id, platform="weibo", handle="禾岚乳业官方", active=False
        )
        session.add(account)
        session.add(
            QuietPeriod(
                organization_id=org_id,
                incident_id=opened.id,
                tier="orange",
                started_at=opened.detected_at,
                accounts=[],
            )
        )
        partner = Partner(organization_id=org_id, name="星河公关", kind="agency")
        session.add(partner)
        await session.flush()
        session.add(
            IncidentPartner(
                organization_id=org_id,
                incident_id=opened.id,
                partner_id=partner.id,
                status="informed",
                updated_by="matrix",
            )
        )
        session.add(
            StatementTemplate(
                organization_id=org_id,
                stage="first_response",
                channel="weibo",
                crisis_type="any",
                version=1,
                body="【{{品牌}}致歉】{{关键事实}}",
                created_by="matrix",
            )
        )
        report = SituationReport(
            organization_id=org_id,
            incident_id=opened.id,
            number=1,
            status="draft",
            covers_from=opened.detected_at,
            covers_until=opened.detected_at + timedelta(hours=2),
            tactical={"conditions": ["事件等级：中度"], "actions": [], "needs": []},
            executive={"status": "中度舆情危机·已发现", "overview": "", "next_steps": []},
        )
        session.add(report)
        improvement = ImprovementAction(
            organization_id=org_id,
            incident_id=opened.id,
            watchlist_id=opened.watchlist_id,
            action="增加批次抽检",
            owner="品控部",
        )
        session.add(improvement)
        drill_watchlist = Watchlist(
            organization_id=org_id, name="演练·产品安全·matrix", keywords=["澄禾"], query="澄禾"
        )
        session.add(drill_watchlist)
        await session.flush()
        drill = Drill(
            organization_id=org_id,
            watchlist_id=drill_watchlist.id,
            scenario="product_safety",
            speed=60.0,
            delivery="suppress",
            state="ended",
            started_by="matrix",
            started_at=T0,
            ended_at=T0 + timedelta(minutes=5),
            score_card={"deadlines": [], "deadlines_met": 0, "participants": ["matrix"]},
        )
        session.add(drill)
        bundle = EvidenceBundle(
            organization_id=org_id,
            incident_id=opened.id,
            title="谣言举报材料",
            purpose="legal",
            created_by="matrix",
        )
        session.add(bundle)
        await session.flush()
        session.add(
            EvidenceItem(
                organization_id=org_id,
                bundle_id=bundle.id,
                mention_id=posted.id,
                position=0,
                source=posted.source,
                text=posted.text,
                posted_at=posted.posted_at,
                added_by="matrix",
            )
        )
        # The person is the monitor on duty from T0's week on, with an override ahead, and was
        # paged to the incident.
        rota = Rota(
            organization_id=org_id,
            role="monitor",
            people=[duty.id],
            handoff_weekday=0,
            handoff_time=time(9, 0),
            starts_on=T0.date() - timedelta(days=7),
            updated_by="matrix",
        )
        session.add(rota)
        await session.flush()
        session.add(
            RotaOverride(
                organization_id=org_id,
                rota_id=rota.id,
                person_id=duty.id,
                starts_at=datetime.now(UTC) + timedelta(days=1),
                ends_at=datetime.now(UTC) + timedelta(days=2),
                created_by="matrix",
            )
        )
        paged = Page(
            organization_id=org_id,
            person_id=duty.id,
            incident_id=opened.id,
            role="monitor",
            reason="incident_opened",
            key="opened",
            paged_at=T0,
        )
        session.add(paged)
    return Org(
        tenant=tenant,
        seed=made,
        spare_key=spare.row.id,
        incident_signal=story.id,
        risk_check=check_id,
        backtest=replayed.id,
        own_account=account.id,
        partner=partner.id,
        evidence=bundle.id,
        report=report.id,
        improvement=improvement.id,
        person=duty.id,
        page=paged.id,
        drill=drill.id,
    )


async def _file_reply(http: httpx.AsyncClient, url: str, org: Org) -> None:
    """File a reply-library case through the real incidents service."""
    body = (
        await http.post(
            f"{url}/graphql",
            headers=org.tenant.auth(Role.RESPONDER),
            json={
                "query": OPS["fileReply"].document,
                "variables": OPS["fileReply"].variables(org.seed),
            },
        )
    ).json()
    assert body["data"]["fileReply"]["__typename"] not in {"Forbidden", "NotFound"}, body


@asynccontextmanager
async def _world(
    servers: Servers, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[World]:
    settings = GatewaySettings(
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        data_key=generate_key(),
        archive_signing_key=new_key(),
        command_timeout_seconds=15.0,
        rate_limit_per_minute=0,
        rate_limit_per_organization_per_minute=0,
        rate_limit_per_address_per_minute=0,
    )
    acme = await _seed_org(sessions, await make_tenant(sessions, "acme"))
    rival = await _seed_org(sessions, await make_tenant(sessions, "rival"))
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(
            running_workers(
                analysis_worker(settings, handle_signals=False),
                # The quiet-period pass would start periods on the seeded orange incidents
                # while refused attempts are checked for changing nothing.
                incidents_worker(
                    IncidentsSettings.extending(settings).model_copy(
                        update={"quiet_period_check_seconds": 3600.0}
                    ),
                    handle_signals=False,
                ),
                notify_worker(settings, handle_signals=False),
            )
        )
        gateway_app = create_gateway(settings)
        gateway = await stack.enter_async_context(serving(gateway_app))
        ingest = await stack.enter_async_context(serving(create_ingest(settings)))
        yield World(
            gateway=gateway,
            gateway_app=gateway_app,
            ingest=ingest,
            acme=acme,
            rival=rival,
            sessions=sessions,
            redis_url=servers.redis_url,
        )


# ----------------------------------------------------------------------------- checks


async def _rows_of(sessions: async_sessionmaker[AsyncSession], org: uuid.UUID) -> dict[str, Any]:
    """Every row of the organization, table by table, in a stable order."""
    snapshot: dict[str, Any] = {}
    async with sessions() as session:
        for table in metadata.sorted_tables:
            if "organization_id" not in table.c:
                continue
            connection = await session.connection()
            found = await connection.execute(
                sa_select(table).where(table.c.organization_id == org).order_by(*table.primary_key)
            )
            snapshot[table.name] = [tuple(map(repr, row)) for row in found.all()]
    return snapshot


async def _ids_of(sessions: async_sessionmaker[AsyncSession], org: uuid.UUID) -> set[str]:
    """Every row id of the organization, and the organization's own id."""
    ids = {str(org)}
    async with sessions() as session:
        for table in metadata.sorted_tables:
            key = table.c.get("id")
            if "organization_id" not in table.c or key is None:
                continue
            connection = await session.connection()
            found = await connection.execute(sa_select(key).where(table.c.organization_id == org))
            ids.update(str(value) for value in found.scalars())
    return ids


def _decoded(value: str) -> str | None:
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def leaks(answer: Any, foreign: set[str]) -> list[str]:
    """Return the foreign ids found in `answer`, raw or inside a Relay global id."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            text = value.lower()
            found.extend(id_ for id_ in foreign if id_ in text)
            decoded = _decoded(value)
            if decoded is not None:
                found.extend(id_ for id_ in foreign if id_ in decoded.lower())

    walk(answer)
    return found


async def _gql(
    http: httpx.AsyncClient,
    world: World,
    org: Org,
    role: Role,
    document: str,
    variables: dict[str, Any],
) -> httpx.Response:
    return await http.post(
        f"{world.gateway}/graphql",
        headers=org.tenant.auth(role),
        json={"query": document, "variables": variables},
    )


# ------------------------------------------------------------------------------ tests


def test_the_matrix_names_every_operation_and_route() -> None:
    schema = build_schema()._schema
    roots = {
        name: set(schema.get_type(name).fields)  # type: ignore[union-attr]
        for name in ("Query", "Mutation", "Subscription")
    }
    assert roots["Query"] == set(QUERIES)
    assert roots["Mutation"] == set(MUTATIONS)
    assert roots["Subscription"] == set(SUBSCRIPTIONS)
    ingest = create_ingest(Settings(database_url="postgresql://-/-", redis_url="redis://-"))
    # The published document lists every route a client can call, however it is mounted.
    routes = {
        (method.upper(), path)
        for path, operations in ingest.openapi()["paths"].items()
        for method in operations
    }
    assert routes == REST_ROUTES
    gateway = create_gateway(
        GatewaySettings(database_url="postgresql://-/-", redis_url="redis://-")
    )
    served = {
        (method.upper(), path)
        for path, operations in gateway.openapi()["paths"].items()
        for method in operations
        if path.startswith("/v1/")
    }
    assert served == GATEWAY_REST_ROUTES


async def test_every_query_answers_each_organization_only_with_its_own_rows(
    servers: Servers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with _world(servers, sessions) as world, httpx.AsyncClient(timeout=30) as http:
        await _file_reply(http, world.gateway, world.acme)
        await _file_reply(http, world.gateway, world.rival)
        story_of = {name: org.incident_signal for name, org in world.orgs()}
        problems: list[str] = []
        for reader_name, reader in world.orgs():
            other_name, other = next((n, o) for n, o in world.orgs() if n != reader_name)
            foreign = await _ids_of(sessions, other.tenant.org.id)
            own = await _ids_of(sessions, reader.tenant.org.id)
            for name, read in QUERIES.items():
                # Ask with the other organization's ids too: they must come back empty.
                targets = world.orgs() if read.takes_ids else ((reader_name, reader),)
                for target_name, target in targets:
                    variables = read.variables(target)
                    if name == "story":
                        variables = {"id": gid("Story", story_of[target_name])}
                    ingest = await _gql(http, world, reader, Role.INGEST, read.document, variables)
                    if ingest.status_code != 403:
                        problems.append(f"{name}: ingest key got {ingest.status_code}")
                    for role in READERS:
                        answer = (
                            await _gql(http, world, reader, role, read.document, variables)
                        ).json()
                        where = f"{name} as {reader_name} {role.value} about {target_name}"
                        if read.admin_only and role is not Role.ADMIN:
                            refused = (answer.get("data") or {}).get(name) is None
                            if not refused or not answer.get("errors"):
                                problems.append(f"{where}: not refused: {answer}")
                            continue
                        if answer.get("errors"):
                            problems.append(f"{where}: errors {answer['errors']}")
                            continue
                        if leaked := leaks(answer, foreign):
                            problems.append(f"{where}: leaked {other_name} ids {leaked[:3]}")
                        if read.names_rows and target is reader and not leaks(answer, own):
                            problems.append(f"{where}: shows none of its own rows: {answer}")
        assert not problems, "\n".join(problems)


async def test_every_mutation_is_refused_to_viewers_other_organizations_and_non_admins(
    servers: Servers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with _world(servers, sessions) as world, httpx.AsyncClient(timeout=30) as http:
        acme, rival = world.acme, world.rival
        before = await _rows_of(sessions, acme.tenant.org.id)
        problems: list[str] = []
        for name, write in MUTATIONS.items():
            variables = write.variables(acme)
            for caller_name, caller in world.orgs():
                ingest = await _gql(http, world, caller, Role.INGEST, write.document, variables)
                if ingest.status_code != 403:
                    problems.append(f"{name}: {caller_name} ingest key got {ingest.status_code}")
                for role in READERS:
                    where = f"{name} by {caller_name} {role.value} on acme's rows"
                    may = role is Role.ADMIN or (role is Role.RESPONDER and not write.admin_only)
                    if caller is acme and may:
                        continue  # the owner's turn comes after the snapshot check
                    answer = (
                        await _gql(http, world, caller, role, write.document, variables)
                    ).json()
                    if answer.get("errors"):
                        problems.append(f"{where}: errors {answer['errors']}")
                        continue
                    kind = answer["data"][name]["__typename"]
                    if not may and kind != "Forbidden":
                        problems.append(f"{where}: answered {kind}, not Forbidden")
                    elif may and write.takes_ids and kind != "NotFound":
                        problems.append(f"{where}: answered {kind}, not NotFound")
        after = await _rows_of(sessions, acme.tenant.org.id)
        changed = [table for table in before if before[table] != after[table]]
        assert not changed, f"acme's rows changed by refused attempts: {changed}" + str(
            [set(after[t]) - set(before[t]) for t in changed]
        )
        assert not problems, "\n".join(problems)

        # The owner's responders and admins are let through: the service decides the rest.
        # Deleting the endpoint and deactivating the person go last (see LAST).
        for name, write in sorted(MUTATIONS.items(), key=lambda item: item[0] in LAST):
            for role in (Role.RESPONDER, Role.ADMIN):
                if write.admin_only and role is Role.RESPONDER:
                    continue
                answer = (
                    await _gql(http, world, acme, role, write.document, write.variables(acme))
                ).json()
                where = f"{name} by acme {role.value}"
                if answer.get("errors"):
                    problems.append(f"{where}: errors {answer['errors']}")
                elif answer["data"][name]["__typename"] in {"Forbidden", "NotFound"}:
                    problems.append(f"{where}: refused {answer['data'][name]}")
        assert not problems, "\n".join(problems)
        # Rival's own rows were never touched by acme's work either.
        assert rival.tenant.org.id not in {acme.tenant.org.id}


async def _ingest_one(
    http: httpx.AsyncClient, world: World, org: Org, role: Role, text: str
) -> httpx.Response:
    mention = {
        "source": "weibo",
        "external_id": uuid.uuid4().hex,
        "text": text,
        "posted_at": datetime.now(UTC).isoformat(),
        "author": {"handle": "矩阵用户"},
    }
    return await http.post(
        f"{world.ingest}/v1/mentions", headers=org.tenant.auth(role), json={"mentions": [mention]}
    )


async def test_every_rest_route_keeps_organizations_apart_and_roles_in_place(
    servers: Servers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with _world(servers, sessions) as world, httpx.AsyncClient(timeout=30) as http:
        problems: list[str] = []
        complaint = {
            "customer_ref": "C-1",
            "channel": "hotline",
            "text": "奶粉结块，要求退款",
            "contacts": [{"kind": "phone", "value": "13812345678"}],
        }
        complaints: dict[str, str] = {}
        for name, org in world.orgs():
            for role in Role:
                may = role in (Role.INGEST, Role.ADMIN)
                pushed = await _ingest_one(http, world, org, role, "禾岚奶粉结块")
                filed = await http.post(
                    f"{world.ingest}/v1/complaints",
                    headers={**org.tenant.auth(role), "Idempotency-Key": uuid.uuid4().hex},
                    json={**complaint, "external_id": uuid.uuid4().hex},
                )
                for route, response in (("mentions", pushed), ("complaints", filed)):
                    if may and response.status_code not in (201, 202):
                        problems.append(f"POST {route} {name} {role.value}: {response.status_code}")
                    if not may and response.status_code != 403:
                        problems.append(f"POST {route} {name} {role.value}: {response.status_code}")
                if may:
                    complaints[name] = filed.json()["id"]
                    if "13812345678" in filed.text:
                        problems.append(f"POST complaints {name}: contact not masked")
        for owner_name, owner in world.orgs():
            for reader_name, reader in world.orgs():
                for role in Role:
                    for path in (
                        f"/v1/mentions/{owner.seed.mention}",
                        f"/v1/complaints/{complaints[owner_name]}",
                    ):
                        response = await http.get(
                            f"{world.ingest}{path}", headers=reader.tenant.auth(role)
                        )
                        # Ingest keys push only: reading back needs viewer or above.
                        expected = 403 if role is Role.INGEST else 200 if owner is reader else 404
                        if response.status_code != expected:
                            problems.append(
                                f"GET {path} of {owner_name} by {reader_name} {role.value}: "
                                f"{response.status_code}, expected {expected}"
                            )
                        if owner is not reader and set(response.json()) - PROBLEM_FIELDS:
                            problems.append(f"GET {path}: answered more than a problem")
        for owner_name, owner in world.orgs():
            for reader_name, reader in world.orgs():
                for role in Role:
                    for name in ("archive.json", "archive.html", "review-report.html"):
                        path = f"/v1/incidents/{owner.seed.incident}/{name}"
                        response = await http.get(
                            f"{world.gateway}{path}", headers=reader.tenant.auth(role)
                        )
                        # The archive is an admin's (these keys act for nobody, so for no
                        # commander either); the review report any reader's.
                        may = role is Role.ADMIN or (
                            name == "review-report.html" and role is not Role.INGEST
                        )
                        expected = 403 if not may else 200 if owner is reader else 404
                        if response.status_code != expected:
                            problems.append(
                                f"GET {path} of {owner_name} by {reader_name} {role.value}: "
                                f"{response.status_code}, expected {expected}"
                            )
                        if owner is not reader and set(response.json()) - PROBLEM_FIELDS:
                            problems.append(f"GET {path}: answered more than a problem")
        health = await http.get(f"{world.ingest}/healthz")
        if health.status_code != 200 or leaks(
            health.json(), await _ids_of(sessions, world.acme.tenant.org.id)
        ):
            problems.append(f"/healthz: {health.status_code} {health.text}")
        assert not problems, "\n".join(problems)


async def _first_of_each(client: LiveClient, operations: dict[str, str]) -> dict[str, Any]:
    """Return the first payload of every operation, by subscription field."""
    field_of = {operation: field for field, operation in operations.items()}
    first: dict[str, Any] = {}
    while len(first) < len(operations):
        message = await client.receive()
        assert message["type"] == "next" and "errors" not in message["payload"], message
        field = field_of[message["id"]]
        first.setdefault(field, message["payload"]["data"][field])
    return first


async def test_every_subscription_delivers_only_to_its_own_organization(
    servers: Servers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with _world(servers, sessions) as world, httpx.AsyncClient(timeout=30) as http:
        url = world.gateway.replace("http://", "ws://") + "/graphql"
        for _name, org in world.orgs():
            with pytest.raises(Refused) as refused:
                async with live_client(url, bearer(org.tenant.keys[Role.INGEST])) as client:
                    await client.subscribe(SUBSCRIPTIONS["mentions"])
                    await client.receive()
            assert refused.value.code == 4403
        async with AsyncExitStack() as stack:
            listeners: dict[tuple[str, Role], tuple[LiveClient, dict[str, str]]] = {}
            for name, org in world.orgs():
                for role in READERS:
                    client = await stack.enter_async_context(
                        live_client(url, bearer(org.tenant.keys[role]))
                    )
                    operations = {
                        field: await client.subscribe(doc) for field, doc in SUBSCRIPTIONS.items()
                    }
                    listeners[(name, role)] = (client, operations)
            await _wait_for_listeners(world, count=len(READERS) * len(SUBSCRIPTIONS))

            # Each organization makes one change of every kind, acme first.
            made: dict[str, dict[str, str]] = {}
            for name, org in world.orgs():
                made[name] = await _one_of_each(http, world, org)
            for (name, role), (client, operations) in listeners.items():
                heard = await _first_of_each(client, operations)
                for field, payload in heard.items():
                    row = payload["incident"] if field == "incidentUpdates" else payload
                    assert row["databaseId"] == made[name][field], (
                        f"{field} to {name} {role.value}: heard {row['databaseId']}, not its own"
                    )


async def _wait_for_listeners(world: World, count: int) -> None:
    """Wait until each organization's subscriptions follow its live channel."""
    hub: LiveHub = world.gateway_app.state.resources.hub
    async with asyncio.timeout(15):
        for _name, org in world.orgs():
            await hub.wait_for_listeners(org.tenant.org.id, count)


async def _one_of_each(http: httpx.AsyncClient, world: World, org: Org) -> dict[str, str]:
    """Make a mention, a risk signal and an incident update for `org`; return their ids."""
    pushed = await _ingest_one(http, world, org, Role.INGEST, "禾岚奶粉宝宝吃了腹泻")
    assert pushed.status_code == 202, pushed.text
    mention_id = pushed.json()["results"][0]["id"]
    async with transaction(world.sessions) as session:
        watched = await session.get(Watchlist, org.seed.watchlist)
        assert watched is not None
        signal = await builders.signal(session, watched, Tier.RED)
        live.stage(
            session,
            live.signal_notice(
                org.tenant.org.id,
                signal.id,
                live.SignalFacts(watchlist_id=watched.id, tier="red", score=signal.score),
            ),
        )
        notices = live.take_staged(session)
    client = Redis.from_url(world.redis_url)
    try:
        await live.announce(client, notices)
    finally:
        await client.aclose()
    done = await _gql(
        http,
        world,
        org,
        Role.RESPONDER,
        OPS["completeTask"].document,
        OPS["completeTask"].variables(org.seed),
    )
    assert done.json()["data"]["completeTask"]["__typename"] == "ResponseTask", done.text
    return {
        "mentions": mention_id,
        "riskSignals": str(signal.id),
        "incidentUpdates": str(org.seed.incident),
    }
