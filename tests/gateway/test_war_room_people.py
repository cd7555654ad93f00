"""A war room of five people takes a red incident from detection to closed, each acting with
their own key, through GraphQL and the real workers; the signed archive then holds every
step and every person.

The monitor on duty is assigned and paged, an overdue task pages the analyst on duty, one
person's second-level approval is refused, legal approves, the follow-up owner reveals a
contact (audited, never stored in clear), an improvement action is done and verified, and
the commander closes the incident and downloads the archive.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select
from strawberry.relay import GlobalID

from gateway.tests.conftest import gid
from libs.clock import FixedClock
from libs.contracts.enums import Role, Tier
from libs.database.tables import AuditEntry, TimelineEvent
from libs.documents.canonical import canonical_json, sha256_hex
from libs.documents.signing import verify
from services.incidents.tasks.watchdog import DeadlineWatchdog
from tests.builders import Tenant
from tests.fixtures.servers import EMBEDDED_ONLY
from tests.gateway.builders import System, raise_signal, watchlist
from tests.gateway.test_on_call import ACKNOWLEDGE as ACKNOWLEDGE_PAGE
from tests.gateway.test_on_call import PAGES, person, rota
from tests.test_people_and_audit import ISSUE_KEY, post, result_of

PHONE = "13912345678"
REFUSED = "... on Refusal { code message } ... on InvalidInput { field }"
INCIDENT = """query($id: ID!) { incident(id: $id) { databaseId status tier
  team { role person assignee { name } } } }"""
ACKNOWLEDGE = f"""mutation($input: IncidentAcknowledgeInput!) {{
  incidentAcknowledge(input: $input) {{ __typename ... on Incident {{ status }} {REFUSED} }} }}"""
ASSIGN = f"""mutation($input: IncidentAssignRoleInput!) {{ incidentAssignRole(input: $input) {{
  __typename ... on Incident {{ team {{ role assignee {{ name }} }} }} {REFUSED} }} }}"""
MOVE = f"""mutation($input: IncidentTransitionInput!) {{ incidentTransition(input: $input) {{
  __typename ... on Incident {{ status }} {REFUSED} }} }}"""
DRAFT = f"""mutation($input: StatementDraftInput!) {{ statementDraft(input: $input) {{
  __typename ... on Statement {{ id status }} {REFUSED} }} }}"""
REVIEW = f"""mutation($input: StatementReviewInput!) {{ statementReview(input: $input) {{
  __typename ... on Statement {{ status reviewLevel legalApproved }} {REFUSED} }} }}"""
PUBLISH = f"""mutation($input: StatementPublishInput!) {{ statementPublish(input: $input) {{
  __typename ... on Statement {{ status publishedUrl }} {REFUSED} }} }}"""
ADD_USER = f"""mutation($input: AddAffectedUserInput!) {{ addAffectedUser(input: $input) {{
  __typename ... on AffectedUser {{ databaseId contactMasked
    followUps {{ databaseId owner {{ ... on Person {{ name }} }} }} }} {REFUSED} }} }}"""
REVEAL = f"""mutation($input: RevealContactInput!) {{ revealContact(input: $input) {{
  __typename ... on RevealedContact {{ contact auditEntryId }} {REFUSED} }} }}"""
VISITED = f"""mutation($input: FollowUpCompleteInput!) {{ followUpComplete(input: $input) {{
  __typename ... on FollowUp {{ status reached satisfied }} {REFUSED} }} }}"""
WRITE_REVIEW = f"""mutation($input: ReviewUpdateInput!) {{ reviewUpdate(input: $input) {{
  __typename ... on ReviewReport {{ improvements {{ databaseId }} }} {REFUSED} }} }}"""
COMPLETE_REVIEW = f"""mutation($input: ReviewCompleteInput!) {{ reviewComplete(input: $input) {{
  __typename ... on ReviewReport {{ status }} {REFUSED} }} }}"""
IMPROVE = f"""mutation($input: ImprovementActionUpdateInput!) {{
  improvementActionUpdate(input: $input) {{
    __typename ... on ImprovementAction {{ state ownerPerson {{ ... on Person {{ name }} }} }}
    {REFUSED} }} }}"""

MONITOR, ANALYST, COMMANDER, SPOKESPERSON, LEGAL = "张监测", "王分析", "周指挥", "林发言", "陈律师"


async def member(system: System, owner: Tenant, name: str, handle: str) -> tuple[str, str]:
    """Create a person with a chat handle and a responder key; return their id and secret."""
    person_id = await person(system, owner, name, [{"platform": "FEISHU", "handle": handle}])
    issued = await result_of(
        system.http, owner.keys[Role.ADMIN], ISSUE_KEY,
        {"input": {"personId": person_id, "role": "RESPONDER"}},
    )  # fmt: skip
    secret: str = issued["secret"]
    return person_id, secret


@EMBEDDED_ONLY
async def test_five_people_take_a_red_incident_from_detection_to_a_signed_archive(
    system: System, acme: Tenant
) -> None:
    people = {
        name: await member(system, acme, name, f"ou_{n}")
        for n, name in enumerate((MONITOR, ANALYST, COMMANDER, SPOKESPERSON, LEGAL))
    }
    key = {name: secret for name, (_, secret) in people.items()}

    async def act(name: str, query: str, given: dict[str, Any]) -> dict[str, Any]:
        return await result_of(system.http, key[name], query, {"input": given})

    async def move(name: str, status: str, reason: str | None = None) -> str:
        moved = await act(name, MOVE, {"id": incident, "toStatus": status, "reason": reason})
        assert moved["__typename"] == "Incident", moved
        answer: str = moved["status"]
        return answer

    # Rotas set; a red signal is detected: the monitor on duty joins the team and is paged.
    assert (await rota(system, acme, "MONITOR", [people[MONITOR][0]]))["__typename"] == "Rota"
    assert (await rota(system, acme, "ANALYST", [people[ANALYST][0]]))["__typename"] == "Rota"
    watched = await watchlist(system, acme, "禾岚奶粉", ["禾岚", "结块"])
    detected = datetime.now(UTC)
    await raise_signal(system, acme, watched, Tier.RED)
    async with system.sessions() as session:
        opened = (
            await session.exec(
                select(TimelineEvent.incident_id).where(
                    TimelineEvent.organization_id == acme.org.id, TimelineEvent.kind == "opened"
                )
            )
        ).one()
    incident = gid("Incident", opened)
    read = await result_of(system.http, key[COMMANDER], INCIDENT, {"id": incident})
    assert (read["status"], read["tier"]) == ("DETECTED", "RED")
    assert {"role": "MONITOR", "person": MONITOR, "assignee": {"name": MONITOR}} in read["team"]
    pages = await post(system.http, key[COMMANDER], PAGES, {"incident": incident})
    [paged] = pages["data"]["pages"]["nodes"]
    assert (paged["person"], paged["role"], paged["reason"]) == (
        {"name": MONITOR}, "MONITOR", "INCIDENT_OPENED"
    )  # fmt: skip

    # The monitor's 30-minute task goes overdue: the analyst on duty, next up, is paged.
    clock = FixedClock(detected + timedelta(minutes=31))
    # The pass sees every organization's tasks in the shared system; its count includes other
    # tests' late tasks, so what it did here is checked on this incident's pages.
    await DeadlineWatchdog(system.sessions, system.redis, clock, interval=15).run_once()
    pages = await post(system.http, key[ANALYST], PAGES, {"incident": incident})
    _, escalated = pages["data"]["pages"]["nodes"]
    assert (escalated["person"], escalated["role"], escalated["reason"]) == (
        {"name": ANALYST}, "ANALYST", "TASK_OVERDUE"
    )  # fmt: skip
    taken = await act(ANALYST, ACKNOWLEDGE_PAGE, {"id": escalated["id"]})
    assert taken["__typename"] == "Page" and taken["acknowledgedAt"] is not None
    acknowledged = await act(MONITOR, ACKNOWLEDGE, {"id": incident})
    assert acknowledged == {"__typename": "Incident", "status": "ACKNOWLEDGED"}

    # Nobody seats themselves as commander (who reads contacts and takes the archive): an
    # admin names the commander, who then puts the team together by name.
    self_named = await act(
        ANALYST, ASSIGN, {"id": incident, "role": "COMMANDER", "person": ANALYST}
    )
    assert self_named["__typename"] == "Forbidden", self_named
    seated = await result_of(
        system.http, acme.keys[Role.ADMIN], ASSIGN,
        {"input": {"id": incident, "role": "COMMANDER", "person": COMMANDER}},
    )  # fmt: skip
    assert {"role": "COMMANDER", "assignee": {"name": COMMANDER}} in seated["team"], seated
    for role, name in (("ANALYST", ANALYST), ("SPOKESPERSON", SPOKESPERSON), ("LEGAL", LEGAL)):
        assigned = await act(COMMANDER, ASSIGN, {"id": incident, "role": role, "person": name})
        assert {"role": role, "assignee": {"name": name}} in assigned["team"], assigned
    assert await move(COMMANDER, "RESPONDING") == "RESPONDING"

    # The spokesperson drafts; three levels by three people, one refused a second level;
    # legal approves (red); the spokesperson publishes.
    drafted = await act(SPOKESPERSON, DRAFT, {
        "incidentId": incident, "channel": "WEIBO",
        "body": "关于禾岚奶粉结块的说明：涉事批次已下架送检，我们将逐一回访受影响的用户。",
    })  # fmt: skip
    assert drafted["__typename"] == "Statement", drafted
    statement = drafted["id"]

    async def review(name: str, stage: str) -> dict[str, Any]:
        return await act(name, REVIEW, {"id": statement, "stage": stage, "decision": "APPROVE"})

    assert (await review(ANALYST, "LEVEL_1"))["reviewLevel"] == 1
    twice = await review(ANALYST, "LEVEL_2")
    assert (twice["__typename"], twice["code"]) == ("Forbidden", "FORBIDDEN")
    assert "already approved level_1" in twice["message"]
    assert (await review(COMMANDER, "LEVEL_2"))["reviewLevel"] == 2
    level_3 = await review(MONITOR, "LEVEL_3")
    assert (level_3["reviewLevel"], level_3["status"]) == (3, "IN_REVIEW")
    legal = await review(LEGAL, "LEGAL")
    assert (legal["status"], legal["legalApproved"]) == ("APPROVED", True)
    url = "https://weibo.com/helan/statement-1"
    published = await act(SPOKESPERSON, PUBLISH, {
        "id": statement, "url": url, "publishedAt": datetime.now(UTC).isoformat(),
    })  # fmt: skip
    assert published == {"__typename": "Statement", "status": "PUBLISHED", "publishedUrl": url}

    # An affected user's follow-up goes to the analyst, who reveals the contact with a reason
    # (audited, the number never stored in clear) and records what came of the visit.
    added = await act(COMMANDER, ADD_USER, {
        "incidentId": incident, "name": "欧阳娜娜", "contactKind": "PHONE", "contact": PHONE,
        "ownerPersonId": people[ANALYST][0], "visitOffsetsHours": [24],
    })  # fmt: skip
    [visit] = added["followUps"]
    assert visit["owner"] == {"name": ANALYST}
    revealed = await act(ANALYST, REVEAL, {"followUpId": visit["databaseId"], "reason": "致歉回访"})
    assert revealed["contact"] == PHONE, revealed
    visited = await act(ANALYST, VISITED, {
        "id": visit["databaseId"], "reached": True, "satisfied": True,
        "feedback": "已退款，用户表示理解",
    })  # fmt: skip
    assert visited == {
        "__typename": "FollowUp",
        "status": "DONE",
        "reached": True,
        "satisfied": True,
    }
    async with system.sessions() as session:
        [entry] = (
            await session.exec(
                select(AuditEntry).where(
                    col(AuditEntry.organization_id) == acme.org.id,
                    col(AuditEntry.entity_kind) == "affected_user_contact",
                )
            )
        ).all()
        audited = (
            await session.exec(
                select(AuditEntry).where(col(AuditEntry.organization_id) == acme.org.id)
            )
        ).all()
    assert (str(entry.id), entry.action) == (revealed["auditEntryId"], "reveal")
    assert entry.person_id == uuid.UUID(GlobalID.from_id(people[ANALYST][0]).node_id)
    assert entry.after is not None and entry.after["reason"] == "致歉回访"
    assert PHONE not in repr([a.model_dump() for a in audited])

    # Resolved after a recovery watch; the review is completed with an improvement action
    # owned by the monitor, who does it; the commander, someone else, verifies it.
    assert await move(COMMANDER, "RECOVERING") == "RECOVERING"
    assert await move(COMMANDER, "RESOLVED") == "RESOLVED"
    written = await act(COMMANDER, WRITE_REVIEW, {
        "incidentId": incident, "rootCause": "灌装线密封件老化，质检漏检",
        "improvements": [{"action": "灌装线密封件按月更换并抽检", "owner": MONITOR}],
    })  # fmt: skip
    [action] = (a["databaseId"] for a in written["improvements"])
    owned = await act(COMMANDER, IMPROVE, {"id": action, "ownerPersonId": people[MONITOR][0]})
    assert owned["ownerPerson"] == {"name": MONITOR}
    assert (await act(MONITOR, IMPROVE, {"id": action, "state": "DONE"}))["state"] == "DONE"
    verified = await act(COMMANDER, IMPROVE, {"id": action, "state": "VERIFIED"})
    assert verified["state"] == "VERIFIED"
    completed = await act(COMMANDER, COMPLETE_REVIEW, {"incidentId": incident})
    assert completed == {"__typename": "ReviewReport", "status": "complete"}
    assert await move(COMMANDER, "CLOSED", "处置完毕") == "CLOSED"

    # The commander downloads the archive; it checks against the published key.
    bearer = {"Authorization": f"Bearer {key[COMMANDER]}"}
    downloaded = await system.http.get(f"/v1/incidents/{opened}/archive.json", headers=bearer)
    assert downloaded.status_code == 200, downloaded.text
    published_key = (await system.http.get("/v1/archive/signing-key")).json()
    document = downloaded.json()
    canonical = canonical_json(document["dossier"])
    assert sha256_hex(canonical) == document["sha256"]
    assert document["signature"]["key_id"] == published_key["key_id"]
    assert verify(published_key["public_key"], canonical.encode(), document["signature"]["value"])
    dossier = document["dossier"]

    # It names all five people and holds each step, with who took it.
    named = {
        *(e["person"] for e in dossier["timeline"]),
        *(p["person"] for p in dossier["people"]),
        *(p["person"] for p in dossier["pages"]),
    }
    assert {MONITOR, ANALYST, COMMANDER, SPOKESPERSON, LEGAL} <= named
    assert [(p["person"], p["role"], p["reason"], bool(p["acknowledged_at"]))
            for p in dossier["pages"]] == [
        (MONITOR, "monitor", "incident_opened", False),
        (ANALYST, "analyst", "task_overdue", True),
    ]  # fmt: skip
    [acknowledge_task] = [t for t in dossier["tasks"] if t["kind"] == "acknowledge"]
    assert acknowledge_task["escalated_to"] == "analyst"
    [said] = dossier["statements"]
    assert [(r["stage"], r["decision"], r["person"]) for r in said["reviews"]] == [
        ("level_1", "approve", ANALYST),
        ("level_2", "approve", COMMANDER),
        ("level_3", "approve", MONITOR),
        ("legal", "approve", LEGAL),
    ]
    assert (said["legal_approved"], said["status"], said["published_url"]) == (
        True, "published", url
    )  # fmt: skip
    [reveal] = dossier["audit"]
    assert (reveal["entity_kind"], reveal["action"], reveal["person"]) == (
        "affected_user_contact", "reveal", ANALYST
    )  # fmt: skip
    assert reveal["entity_id"] == added["databaseId"]
    [follow_up] = dossier["follow_ups"]
    assert (follow_up["owner"], follow_up["status"], follow_up["reached"]) == (
        ANALYST, "done", True
    )  # fmt: skip
    assert follow_up["satisfied"] is True and follow_up["feedback"] == "已退款，用户表示理解"
    steps = [(e["kind"], e["person"]) for e in dossier["timeline"]]
    for step in (
        ("page_acknowledged", ANALYST),
        ("status_changed", MONITOR),  # acknowledged: monitoring started
        ("statement_drafted", SPOKESPERSON),
        ("statement_approved", LEGAL),
        ("statement_published", SPOKESPERSON),
        ("contact_revealed", ANALYST),
        ("follow_up_done", ANALYST),
        ("improvement_status", MONITOR),  # done
        ("improvement_status", COMMANDER),  # verified
        ("review_completed", COMMANDER),
    ):
        assert step in steps, step
    moves = [e["data"]["to"] for e in dossier["timeline"] if e["kind"] == "improvement_status"]
    assert moves == ["done", "verified"]
    [improvement] = dossier["review"]["improvements"]
    assert (improvement["owner"], improvement["status"]) == (MONITOR, "verified")
    closed = [e for e in dossier["timeline"] if e["kind"] == "status_changed"][-1]
    assert (closed["data"]["to"], closed["person"]) == ("closed", COMMANDER)
    assert dossier["incident"]["status"] == "closed"
    assert PHONE not in downloaded.text
    page = await system.http.get(f"/v1/incidents/{opened}/archive.html", headers=bearer)
    assert page.status_code == 200 and document["sha256"] in page.text
    assert "值班呼叫（2 次）" in page.text and "任务超时升级" in page.text
    assert "受影响用户回访（1 项）" in page.text and PHONE not in page.text
