"""Partners and evidence bundles end to end: mutations → the real incidents worker → reads."""

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, delete, select

from gateway.tests.conftest import gid
from libs.contracts.enums import Role, Source
from libs.database.engine import transaction
from libs.database.tables import Author, Mention, TimelineEvent
from libs.text import content_hash, normalize
from tests.builders import Tenant, read_all
from tests.gateway.builders import System, open_incident, watchlist

REFUSALS = "... on Refusal { message } ... on InvalidInput { field }"
CONFLICT = " ... on Conflict { field }"
ADD_PARTNER = f"""
mutation($input: AddPartnerInput!) {{
  addPartner(input: $input) {{
    __typename ... on Partner {{ id name kind contact }} {REFUSALS} {CONFLICT}
  }}
}}
"""
SET_STATUS = f"""
mutation($input: SetPartnerStatusInput!) {{
  setPartnerStatus(input: $input) {{
    __typename
    ... on PartnerStanding {{ status note informedAt alignedAt partner {{ name }} }}
    {REFUSALS}
  }}
}}
"""
STANDINGS = """
query($incident: ID!) {
  partnerStandings(first: 10, filter: {incidentId: $incident}) {
    edges { node { status partner { name } incident { databaseId } } }
  }
}
"""
CREATE = f"""
mutation($input: CreateEvidenceBundleInput!) {{
  createEvidenceBundle(input: $input) {{
    __typename
    ... on EvidenceBundle {{
      id title purpose debunkFacts
      items {{ mentionId source url text authorHandle screenshotSha256 note }}
      export {{ fileName json sha256 html }}
    }}
    {REFUSALS}
  }}
}}
"""
ADD = f"""
mutation($input: AddEvidenceInput!) {{
  addEvidence(input: $input) {{
    __typename ... on EvidenceBundle {{ items {{ mentionId note }} }} {REFUSALS}
  }}
}}
"""
READ = """
query($id: ID!) { evidenceBundle(id: $id) { items { mentionId text } } }
"""
RUMOUR = "网传禾岚奶粉含三聚氰胺<script>alert(1)</script>，已致多名婴儿住院"


async def mentions(system: System, owner: Tenant, *texts: str) -> list[uuid.UUID]:
    """Store mentions with links and an author, as ingest stores them."""
    async with transaction(system.sessions) as session:
        author = Author(organization_id=owner.org.id, source="weibo", handle="匿名爆料人")
        session.add(author)
        await session.flush()
        rows = [
            Mention(
                organization_id=owner.org.id,
                source=Source.WEIBO.value,
                external_id=uuid.uuid4().hex,
                text=text,
                content_hash=content_hash(normalize(text)),
                url=f"https://weibo.com/5566/{n}",
                posted_at=datetime.now(UTC) - timedelta(minutes=30 - n),
                author_id=author.id,
            )
            for n, text in enumerate(texts)
        ]
        session.add_all(rows)
    return [row.id for row in rows]


async def test_partners_are_told_and_aligned_on_the_incident_timeline(
    system: System, acme: Tenant, rival: Tenant
) -> None:
    agency = await system.mutate(
        acme, Role.RESPONDER, ADD_PARTNER,
        {"input": {"name": "星河公关", "kind": "AGENCY", "contact": "张经理 13800000000"}},
    )  # fmt: skip
    assert (agency["__typename"], agency["kind"]) == ("Partner", "AGENCY")
    again = await system.mutate(
        acme, Role.RESPONDER, ADD_PARTNER, {"input": {"name": " 星河公关 ", "kind": "KOL"}}
    )
    assert (again["__typename"], again["field"]) == ("Conflict", "name")
    viewer = await system.mutate(
        acme, Role.VIEWER, ADD_PARTNER, {"input": {"name": "经销商A", "kind": "DISTRIBUTOR"}}
    )
    assert viewer["__typename"] == "Forbidden"

    watched = await watchlist(system, acme, "禾岚乳业", ["禾岚"])
    incident_id = await open_incident(system, acme, watched)
    incident = gid("Incident", incident_id)
    told = await system.mutate(
        acme, Role.RESPONDER, SET_STATUS,
        {"input": {"incidentId": incident, "partnerId": agency["id"], "status": "INFORMED"}},
    )  # fmt: skip
    aligned = await system.mutate(
        acme, Role.RESPONDER, SET_STATUS,
        {"input": {"incidentId": incident, "partnerId": agency["id"], "status": "ALIGNED",
                   "note": "已确认按首次声明口径回应媒体"}},
    )  # fmt: skip
    assert told["status"] == "INFORMED" and told["alignedAt"] is None
    assert aligned["status"] == "ALIGNED" and aligned["partner"] == {"name": "星河公关"}
    assert aligned["informedAt"] == told["informedAt"], "first told stays first told"
    assert aligned["alignedAt"] is not None

    body = await system.post(acme.auth(Role.VIEWER), STANDINGS, {"incident": incident})
    assert body["data"]["partnerStandings"]["edges"] == [
        {"node": {"status": "ALIGNED", "partner": {"name": "星河公关"},
                  "incident": {"databaseId": str(incident_id)}}}
    ]  # fmt: skip
    entries = await read_all(
        system.sessions,
        select(TimelineEvent.message)
        .where(TimelineEvent.incident_id == incident_id, TimelineEvent.kind == "partner_status")
        .order_by(col(TimelineEvent.occurred_at)),
    )
    assert entries == [
        "合作方「星河公关」已通知",
        "合作方「星河公关」已就声明口径达成一致：已确认按首次声明口径回应媒体",
    ]
    theirs = await system.mutate(
        rival, Role.ADMIN, SET_STATUS,
        {"input": {"incidentId": incident, "partnerId": agency["id"], "status": "INFORMED"}},
    )  # fmt: skip
    assert theirs["__typename"] == "NotFound"


async def test_an_evidence_bundle_keeps_mentions_as_they_were_and_exports_them(
    system: System, acme: Tenant, rival: Tenant
) -> None:
    watched = await watchlist(system, acme, "禾岚乳业", ["禾岚"])
    incident = gid("Incident", await open_incident(system, acme, watched))
    rumour, repost, later = await mentions(
        system, acme, RUMOUR, "转发：禾岚奶粉出事了", "听说禾岚要召回？"
    )
    [foreign] = await mentions(system, rival, "别家的帖子")
    screenshot = hashlib.sha256(b"screenshot.png").hexdigest()
    fields: dict[str, Any] = {
        "incidentId": incident,
        "title": "三聚氰胺谣言举报材料",
        "purpose": "PLATFORM_REPORT",
        "debunkFacts": ["2025年3月第三方检测报告：未检出三聚氰胺", "涉事批次未在当地销售"],
        "items": [
            {"mentionId": gid("Mention", rumour), "screenshotSha256": screenshot,
             "note": "原始谣言帖"},
            {"mentionId": gid("Mention", repost)},
        ],
    }  # fmt: skip
    made = await system.mutate(acme, Role.RESPONDER, CREATE, {"input": fields})
    assert made["__typename"] == "EvidenceBundle", made
    assert [i["mentionId"] for i in made["items"]] == [str(rumour), str(repost)]
    first = made["items"][0]
    assert (first["text"], first["url"], first["authorHandle"]) == (
        RUMOUR,
        "https://weibo.com/5566/0",
        "匿名爆料人",
    )
    assert (first["screenshotSha256"], first["note"]) == (screenshot, "原始谣言帖")

    exported = made["export"]
    assert exported["sha256"] == hashlib.sha256(exported["json"].encode()).hexdigest()
    document = json.loads(exported["json"])
    assert document["debunk_facts"] == fields["debunkFacts"]
    assert [i["url"] for i in document["items"]] == [
        "https://weibo.com/5566/0",
        "https://weibo.com/5566/1",
    ]
    html = exported["html"]
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert exported["sha256"] in html and "未检出三聚氰胺" in html
    assert 'href="https://weibo.com/5566/0"' in html
    assert exported["fileName"].startswith("evidence-")

    grown = await system.mutate(
        acme, Role.RESPONDER, ADD,
        {"input": {"bundleId": made["id"], "items": [
            {"mentionId": gid("Mention", rumour), "note": "重复"},
            {"mentionId": gid("Mention", later)},
        ]}},
    )  # fmt: skip
    assert grown["items"] == [
        {"mentionId": str(rumour), "note": "原始谣言帖"},
        {"mentionId": str(repost), "note": None},
        {"mentionId": str(later), "note": None},
    ]
    strange = await system.mutate(
        acme, Role.RESPONDER, ADD,
        {"input": {"bundleId": made["id"], "items": [
            {"mentionId": gid("Mention", later)}, {"mentionId": gid("Mention", foreign)},
        ]}},
    )  # fmt: skip
    assert strange["__typename"] == "NotFound"
    assert strange["message"] == f"mention {foreign} does not exist"
    bad_hash = await system.mutate(
        acme, Role.RESPONDER, ADD,
        {"input": {"bundleId": made["id"], "items": [
            {"mentionId": gid("Mention", later), "screenshotSha256": "not-a-hash"},
        ]}},
    )  # fmt: skip
    assert bad_hash["__typename"] == "InvalidInput"
    assert bad_hash["field"] == "items[0].screenshotSha256"

    # Retention prunes raw mentions; the evidence stays as it was kept.
    async with transaction(system.sessions) as session:
        await session.exec(delete(Mention).where(col(Mention.id) == rumour))
    body = await system.post(acme.auth(Role.VIEWER), READ, {"id": made["id"]})
    assert body["data"]["evidenceBundle"]["items"][0] == {"mentionId": str(rumour), "text": RUMOUR}
    hidden = await system.post(rival.auth(Role.ADMIN), READ, {"id": made["id"]})
    assert hidden["data"]["evidenceBundle"] is None
