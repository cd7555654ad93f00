"""Aftercare through the gateway and the real incidents worker: a contact revealed only to
the person who makes the follow-up call (or a commander) and audited, visits completed with
their outcome and feedback, feedback searched, and the complaint behind a user shown."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select

from gateway.tests.conftest import gid
from libs.contracts.enums import Role, Source
from libs.database.engine import transaction
from libs.database.tables import AuditEntry, Complaint, Mention, TimelineEvent
from tests.builders import Tenant, incident, watchlist
from tests.gateway.builders import System, tenant
from tests.test_people_and_audit import person_with_key, result_of

PHONE = "13812345678"
REFUSED = "... on Refusal { code message } ... on InvalidInput { field } ... on Conflict { field }"
ADD = f"""mutation($input: AddAffectedUserInput!) {{ addAffectedUser(input: $input) {{
  __typename ... on AffectedUser {{ databaseId contactMasked
    complaint {{ channel orderIdMasked customerRef mentionId }}
    followUps {{ databaseId visit dueAt owner {{ ... on Person {{ name }} }} }} }}
  {REFUSED} }} }}"""
REVEAL = f"""mutation($input: RevealContactInput!) {{ revealContact(input: $input) {{
  __typename ... on RevealedContact {{ contact contactKind contactMasked followUpId
    affectedUserId auditEntryId }} {REFUSED} }} }}"""
COMPLETE = f"""mutation($input: FollowUpCompleteInput!) {{ followUpComplete(input: $input) {{
  __typename ... on FollowUp {{ status reached satisfied compensationPaid paidAmount currency
    feedback }} {REFUSED} }} }}"""
UPDATE = f"""mutation($input: FollowUpUpdateInput!) {{ followUpUpdate(input: $input) {{
  __typename ... on FollowUp {{ owner {{ ... on Person {{ name }} }} }} {REFUSED} }} }}"""
SEARCH = """query($text: String!) { followUps(first: 10, filter: {feedbackContains: $text}) {
  nodes { databaseId feedback affectedUser { databaseId } } } }"""
ASSIGN = f"""mutation($input: IncidentAssignRoleInput!) {{
  incidentAssignRole(input: $input) {{ __typename {REFUSED} }} }}"""
AUDIT = """{ auditLog(first: 10, filter: {entityKind: AFFECTED_USER_CONTACT}) {
  nodes { databaseId entityId action after person { ... on Person { name } } } } }"""


async def _complaint(system: System, owner: Tenant) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """Store an incident and a complaint as ingest keeps it; return their ids and the mention's."""
    async with transaction(system.sessions) as session:
        watched = await watchlist(session, owner.org, "奶粉质量")
        opened = await incident(session, owner.org, watched)
        text = "奶粉结块，要求退款"
        posted = Mention(
            organization_id=owner.org.id, source=Source.COMPLAINT.value, external_id="HL-1",
            text=text, content_hash=uuid.uuid4().hex,
            posted_at=datetime.now(UTC),
        )  # fmt: skip
        session.add(posted)
        await session.flush()
        complaint = Complaint(
            organization_id=owner.org.id, mention_id=posted.id, customer_ref="CUST-0042781",
            order_id="TM20261121083012", channel="hotline",
        )  # fmt: skip
        session.add(complaint)
    return opened.id, complaint.id, posted.id


async def _reveal(system: System, secret: str, **given: Any) -> dict[str, Any]:
    return await result_of(system.http, secret, REVEAL, {"input": given})


async def test_a_contact_is_revealed_only_to_its_caller_or_a_commander_and_audited(
    system: System,
) -> None:
    owner = await tenant(system, "acme")
    incident_id, complaint_id, mention_id = await _complaint(system, owner)
    caller_id, caller = await person_with_key(system.http, owner, "李娜")
    stranger_id, stranger = await person_with_key(system.http, owner, "周敏")
    _, chief = await person_with_key(system.http, owner, "王强")
    added = await system.mutate(owner, Role.RESPONDER, ADD, {"input": {
        "incidentId": gid("Incident", incident_id), "name": "欧阳娜娜", "contactKind": "PHONE",
        "contact": PHONE, "ownerPersonId": caller_id, "complaintId": str(complaint_id),
    }})  # fmt: skip
    assert added["__typename"] == "AffectedUser", added
    assert added["complaint"] == {
        "channel": "hotline",
        "orderIdMasked": "************3012",
        "customerRef": "CUST-0042781",
        "mentionId": str(mention_id),
    }
    first, second = added["followUps"]
    assert (first["visit"], second["visit"]) == (1, 2)
    assert first["owner"] == {"name": "李娜"}
    follow_up = first["databaseId"]

    service_key = await _reveal(
        system, owner.keys[Role.RESPONDER], followUpId=follow_up, reason="回访"
    )
    by_stranger = await _reveal(system, stranger, followUpId=follow_up, reason="回访")
    no_reason = await _reveal(system, caller, followUpId=follow_up, reason="  ")
    both = await _reveal(
        system, caller, followUpId=follow_up, affectedUserId=added["databaseId"], reason="回访"
    )
    viewer = await _reveal(system, owner.keys[Role.VIEWER], followUpId=follow_up, reason="回访")
    revealed = await _reveal(system, caller, followUpId=follow_up, reason="第一次回访致歉")
    assert service_key["__typename"] == by_stranger["__typename"] == "Forbidden"
    assert by_stranger["code"] == "FORBIDDEN"
    assert "assigned the follow-up" in by_stranger["message"]
    assert (no_reason["__typename"], no_reason["field"]) == ("InvalidInput", "reason")
    assert (both["__typename"], both["field"]) == ("InvalidInput", "affectedUserId")
    assert viewer["__typename"] == "Forbidden"
    assert revealed["__typename"] == "RevealedContact", revealed
    assert (revealed["contact"], revealed["contactKind"]) == (PHONE, "PHONE")
    assert (revealed["contactMasked"], revealed["followUpId"]) == ("138****5678", follow_up)

    # Nobody hands themselves the visit, or the commander's seat, to read the contact: only an
    # admin key or the incident's commander may.
    taken = await result_of(
        system.http, stranger, UPDATE, {"input": {"id": follow_up, "ownerPersonId": stranger_id}}
    )
    seated = await result_of(system.http, stranger, ASSIGN, {"input": {
        "id": gid("Incident", incident_id), "role": "COMMANDER", "person": "周敏",
    }})  # fmt: skip
    by_service = await system.mutate(
        owner, Role.RESPONDER, UPDATE, {"input": {"id": follow_up, "ownerPersonId": stranger_id}}
    )
    for refused_duty in (taken, seated, by_service):
        assert refused_duty["__typename"] == "Forbidden", refused_duty
        assert "commander" in refused_duty["message"]
    still_refused = await _reveal(system, stranger, followUpId=follow_up, reason="回访")
    assert still_refused["__typename"] == "Forbidden"

    # Given to another person, the visit's contact is theirs to see, no longer its first owner's.
    moved = await system.mutate(
        owner, Role.ADMIN, UPDATE, {"input": {"id": follow_up, "ownerPersonId": stranger_id}}
    )
    assert moved["owner"] == {"name": "周敏"}
    first_owner = await _reveal(system, caller, followUpId=follow_up, reason="回访")
    new_owner = await _reveal(system, stranger, followUpId=follow_up, reason="接手回访")
    assert first_owner["__typename"] == "Forbidden"
    assert (new_owner["__typename"], new_owner["contact"]) == ("RevealedContact", PHONE)

    # A commander of the incident may call too, naming the user rather than a visit.
    assigned = await system.mutate(owner, Role.ADMIN, ASSIGN, {"input": {
        "id": gid("Incident", incident_id), "role": "COMMANDER", "person": "王强",
    }})  # fmt: skip
    assert assigned["__typename"] == "Incident"
    as_chief = await _reveal(system, chief, affectedUserId=added["databaseId"], reason="升级处理")
    assert (as_chief["__typename"], as_chief["contact"]) == ("RevealedContact", PHONE)

    log = await system.post(owner.auth(Role.ADMIN), AUDIT)
    everything = log["data"]["auditLog"]["nodes"]
    entries = [e for e in everything if e["action"] == "reveal"]
    assert [(e["person"]["name"], e["after"]["reason"], e["after"]["as"]) for e in entries] == [
        ("王强", "升级处理", "commander"),
        ("周敏", "接手回访", "follow_up_owner"),
        ("李娜", "第一次回访致歉", "follow_up_owner"),
    ]
    # Attempts the service refused are on record too (the viewer's never reached it).
    refused = [e for e in everything if e["action"] == "reveal_refused"]
    assert [(e["person"] or {}).get("name") for e in refused] == ["李娜", "周敏", "周敏", None]
    assert len(everything) == len(entries) + len(refused)
    assert {e["databaseId"] for e in entries} == {
        revealed["auditEntryId"],
        new_owner["auditEntryId"],
        as_chief["auditEntryId"],
    }
    assert {e["entityId"] for e in everything} == {added["databaseId"]}
    async with system.sessions() as session:
        audited = (await session.exec(select(AuditEntry).where(
            col(AuditEntry.organization_id) == owner.org.id))).all()  # fmt: skip
        timeline = (await session.exec(select(TimelineEvent).where(
            col(TimelineEvent.incident_id) == incident_id))).all()  # fmt: skip
    written = repr([a.model_dump() for a in audited]) + repr([t.model_dump() for t in timeline])
    assert PHONE not in written and "5678" in written
    assert sum(event.kind == "contact_revealed" for event in timeline) == 3


async def test_a_visit_outcome_and_feedback_are_kept_and_searchable_in_one_organization(
    system: System,
) -> None:
    owner = await tenant(system, "acme")
    rival = await tenant(system, "rival")
    incident_id, _, _ = await _complaint(system, owner)
    added = await system.mutate(owner, Role.RESPONDER, ADD, {"input": {
        "incidentId": gid("Incident", incident_id), "name": "李雷", "contactKind": "PHONE",
        "contact": PHONE, "visitOffsetsHours": [24],
    }})  # fmt: skip
    [visit] = added["followUps"]
    done = await system.mutate(owner, Role.RESPONDER, COMPLETE, {"input": {
        "id": visit["databaseId"], "reached": True, "satisfied": True, "paidAmount": 100,
        "currency": "CNY", "feedback": f"希望奶粉罐的密封条更牢固，电话 {PHONE}",
    }})  # fmt: skip
    assert done == {
        "__typename": "FollowUp", "status": "DONE", "reached": True, "satisfied": True,
        "compensationPaid": True, "paidAmount": 100.0, "currency": "CNY",
        "feedback": "希望奶粉罐的密封条更牢固，电话 138****5678",
    }  # fmt: skip
    no_currency = await system.mutate(owner, Role.RESPONDER, COMPLETE, {"input": {
        "id": visit["databaseId"], "currency": "yuan"}})  # fmt: skip
    assert (no_currency["__typename"], no_currency["field"]) == ("InvalidInput", "currency")

    found = await system.post(owner.auth(Role.VIEWER), SEARCH, {"text": "密封条"})
    assert found["data"]["followUps"]["nodes"] == [
        {
            "databaseId": visit["databaseId"],
            "feedback": done["feedback"],
            "affectedUser": {"databaseId": added["databaseId"]},
        }
    ]
    missed = await system.post(owner.auth(Role.VIEWER), SEARCH, {"text": "物流太慢"})
    assert missed["data"]["followUps"]["nodes"] == []
    other = await system.post(rival.auth(Role.VIEWER), SEARCH, {"text": "密封条"})
    assert other["data"]["followUps"]["nodes"] == []
