"""The incident archive (备案存档): a signed dossier over GraphQL and REST, checked the way a
recipient checks it, and kept from other organizations and from keys below its level."""

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL, gid, serve
from libs.auth.admin import create_key
from libs.contracts.enums import ReviewDecision, ReviewStage, Role, TeamRole
from libs.database.engine import transaction
from libs.database.tables import AuditEntry, EvidenceBundle, EvidenceItem, Person
from libs.documents.canonical import canonical_json, sha256_hex
from libs.documents.signing import new_key, verify
from libs.settings import Settings
from tests.builders import Tenant
from tests.fixtures.servers import Servers

KEY = new_key()
ARCHIVE = """
query($id: ID!) {
  incidentArchive(id: $id) {
    sha256 signature algorithm keyId asOf generatedAt fileName
    jsonUrl htmlUrl reviewReportUrl signingKeyUrl incident { databaseId }
  }
}
"""
BODY = "关于禾岚奶粉的情况说明：<b>已下架</b>涉事批次并送检。"
RUMOUR_URL = "https://weibo.com/5566/0"


@pytest_asyncio.fixture
async def settings(servers: Servers) -> Settings:
    """The gateway's settings with a configured signing key."""
    return GatewaySettings(
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        command_timeout_seconds=5.0,
        archive_signing_key=KEY,
    )


@dataclass(frozen=True)
class Filed:
    incident: uuid.UUID
    commander_key: str


async def _file(sessions: async_sessionmaker[AsyncSession], tenant: Tenant) -> Filed:
    """Store an incident with every part a dossier holds."""
    org = tenant.org.id
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, org)
        opened = await builders.incident(session, watched, detected_at=T0)
        await builders.event(session, opened, "acknowledged", "值班员已确认事件", T0)
        said = await builders.statement(session, opened, body=BODY)
        await builders.statement_review(session, said, ReviewStage.LEVEL_1, note="口径一致")
        await builders.statement_review(
            session, said, ReviewStage.LEVEL_2, ReviewDecision.REJECT, T0 + timedelta(hours=1)
        )
        await builders.key_fact(session, opened, "涉事批次", "20250301")
        await builders.task(session, opened, "first_statement", "首次声明", 1, timedelta(hours=4))
        chief = Person(organization_id=org, name="王指挥")
        session.add(chief)
        await session.flush()
        led = await builders.member(session, opened, TeamRole.COMMANDER, "王指挥")
        led.person_id = chief.id
        session.add(
            AuditEntry(
                organization_id=org,
                entity_kind="watchlist",
                entity_id=watched.id,
                action="update",
                before={"name": "奶粉", "keywords": ["奶粉"]},
                after={"name": "奶粉", "keywords": ["奶粉", "结块"]},
                actor="api_key:admin",
                occurred_at=T0 + timedelta(minutes=30),
            )
        )
        report = await builders.review(session, opened, root_cause="质检漏检")
        report.sections = {
            **report.sections,
            "volume": {
                "phases": [
                    {
                        "phase": "during",
                        "start": T0.isoformat(),
                        "end": (T0 + timedelta(hours=3)).isoformat(),
                        "total": 12, "per_hour": 4.0, "positive": 0, "neutral": 3,
                        "negative": 9, "negative_share": 0.75,
                        "buckets": [
                            {"start": (T0 + timedelta(hours=h)).isoformat(), "count": 3 + h,
                             "positive": 0, "neutral": 1, "negative": 2 + h}
                            for h in range(3)
                        ],
                    }
                ],
                "peak": {"at": (T0 + timedelta(hours=2)).isoformat(), "count": 5,
                         "phase": "during"},
            },
        }  # fmt: skip
        bundle = EvidenceBundle(
            organization_id=org,
            incident_id=opened.id,
            title="谣言举报材料",
            purpose="legal",
            created_by="api_key:responder",
        )
        session.add(bundle)
        await session.flush()
        session.add(
            EvidenceItem(
                organization_id=org,
                bundle_id=bundle.id,
                mention_id=uuid.uuid4(),
                position=0,
                source="weibo",
                url=RUMOUR_URL,
                text="网传禾岚奶粉含三聚氰胺",
                posted_at=T0 - timedelta(hours=1),
                added_by="api_key:responder",
            )
        )
        commander = await create_key(session, tenant.org, Role.RESPONDER, "指挥长")
        commander.row.person_id = chief.id
        commander.row.service_account = None
    return Filed(opened.id, commander.secret)


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_the_archive_is_signed_complete_and_checks_with_the_published_key(
    client: httpx.AsyncClient, gql: GraphQL, sessions: async_sessionmaker[AsyncSession],
    acme: Tenant,
) -> None:  # fmt: skip
    filed = await _file(sessions, acme)
    answer = await gql(acme.auth(Role.ADMIN), ARCHIVE, {"id": gid("Incident", filed.incident)})
    meta = answer["data"]["incidentArchive"]
    assert meta["incident"]["databaseId"] == str(filed.incident)
    assert meta["algorithm"] == "Ed25519"
    assert meta["reviewReportUrl"] == f"/v1/incidents/{filed.incident}/review-report.html"

    downloaded = await client.get(meta["jsonUrl"], headers=acme.auth(Role.ADMIN))
    assert downloaded.status_code == 200, downloaded.text
    assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"} <= set(downloaded.headers)
    assert downloaded.headers["content-type"] == "application/json"
    name = f"{meta['fileName']}.json"
    assert downloaded.headers["content-disposition"] == f'attachment; filename="{name}"'
    assert name.startswith(f"incident-{str(filed.incident)[-8:]}-archive-")
    again = await client.get(meta["jsonUrl"], headers=acme.auth(Role.ADMIN))
    assert again.headers["content-disposition"] == downloaded.headers["content-disposition"]

    # What a recipient does: hash the dossier's canonical JSON, check it with the public key.
    published = (await client.get(meta["signingKeyUrl"])).json()
    document = downloaded.json()
    canonical = canonical_json(document["dossier"])
    assert sha256_hex(canonical) == document["sha256"] == meta["sha256"]
    assert json.loads(again.text)["sha256"] == meta["sha256"]  # same content, same digest
    signature = document["signature"]
    assert signature["key_id"] == published["key_id"] == meta["keyId"]
    assert verify(published["public_key"], canonical.encode(), signature["value"])
    tampered = bytearray(canonical.encode())
    at = tampered.index(b"20250301")
    tampered[at] ^= 1
    assert not verify(published["public_key"], bytes(tampered), signature["value"])
    assert len(base64.b64decode(signature["value"])) == 64

    dossier = document["dossier"]
    [statement] = dossier["statements"]
    assert statement["body"] == BODY
    assert [(r["stage"], r["decision"]) for r in statement["reviews"]] == [
        ("level_1", "approve"),
        ("level_2", "reject"),
    ]
    assert [e["message"] for e in dossier["timeline"]] == ["值班员已确认事件"]
    assert dossier["key_facts"][0]["value"] == "20250301"
    assert [t["title"] for t in dossier["tasks"]] == ["首次声明"]
    assert [(p["role"], p["person"]) for p in dossier["people"]] == [("commander", "王指挥")]
    assert [a["changed"] for a in dossier["audit"]] == [["keywords"]]
    assert dossier["review"]["root_cause"] == "质检漏检"
    [mention] = dossier["evidence"][0]["mentions"]
    assert (mention["url"], mention["posted_at"]) == (RUMOUR_URL, "2025-03-15T07:00:00Z")

    page = await client.get(meta["htmlUrl"], headers=acme.auth(Role.ADMIN))
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert f'filename="{meta["fileName"]}.html"' in page.headers["content-disposition"]
    html = page.text
    assert "舆情事件备案存档" in html and meta["sha256"] in html and "二级审核" in html
    assert "<b>已下架</b>" not in html and "&lt;b&gt;已下架&lt;/b&gt;" in html
    assert f'href="{RUMOUR_URL}"' in html and "<svg" in html and "<script" not in html

    review = await client.get(meta["reviewReportUrl"], headers=acme.auth(Role.VIEWER))
    assert review.status_code == 200 and "舆情事件复盘报告" in review.text
    assert review.headers["content-type"] == "text/html; charset=utf-8"
    assert "-review-" in review.headers["content-disposition"] and "<svg" in review.text

    # The incident's commander may take it with a key that acts for them.
    own = await gql(_bearer(filed.commander_key), ARCHIVE, {"id": gid("Incident", filed.incident)})
    assert own["data"]["incidentArchive"]["sha256"] == meta["sha256"]


async def test_other_organizations_get_nothing_and_lesser_keys_are_refused(
    client: httpx.AsyncClient, gql: GraphQL, sessions: async_sessionmaker[AsyncSession],
    acme: Tenant, rival: Tenant,
) -> None:  # fmt: skip
    filed = await _file(sessions, acme)
    variables = {"id": gid("Incident", filed.incident)}
    foreign = await gql(rival.auth(Role.ADMIN), ARCHIVE, variables)
    assert foreign["data"] == {"incidentArchive": None} and "errors" not in foreign
    viewer = await gql(acme.auth(Role.VIEWER), ARCHIVE, variables)
    assert viewer["data"] == {"incidentArchive": None}
    assert viewer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    base = f"/v1/incidents/{filed.incident}"
    for path in ("archive.json", "archive.html", "review-report.html"):
        other = await client.get(f"{base}/{path}", headers=rival.auth(Role.ADMIN))
        assert other.status_code == 404, path
        assert other.headers["content-type"] == "application/problem+json"
        assert str(filed.incident) not in other.text
    lesser = await client.get(f"{base}/archive.json", headers=acme.auth(Role.RESPONDER))
    assert lesser.status_code == 403
    missing = await client.get(f"{base}/archive.json")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="crisiswatch"'
    crooked = await client.get(
        "/v1/incidents/not-a-uuid/archive.json", headers=acme.auth(Role.ADMIN)
    )
    assert crooked.status_code == 422
    assert crooked.json()["errors"] == [{"field": "incident_id", "reason": "not a UUID"}]


def test_placeholder_signing_keys_are_refused() -> None:
    for placeholder in ("changeme", base64.b64encode(bytes(32)).decode(), "c2hvcnQ="):
        with pytest.raises(ValidationError, match="archive_signing_key"):
            GatewaySettings(archive_signing_key=placeholder)


async def test_without_a_key_outside_development_nothing_is_signed(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    filed = await _file(sessions, acme)
    unsigned = GatewaySettings(database_url=servers.database_url, redis_url=servers.redis_url)
    async with serve(unsigned) as http:
        answer = await http.get(
            f"/v1/incidents/{filed.incident}/archive.json", headers=acme.auth(Role.ADMIN)
        )
        key = await http.get("/v1/archive/signing-key")
    assert (answer.status_code, key.status_code) == (503, 503)
    for unsigned_answer in (answer, key):
        assert unsigned_answer.headers["content-type"] == "application/problem+json"
        assert "retry-after" not in unsigned_answer.headers  # lasts until the key is set


async def test_a_file_over_the_budget_is_refused_with_its_budget_and_when_to_retry(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    filed = await _file(sessions, acme)
    url = f"/v1/incidents/{filed.incident}/archive.json"
    async with serve(settings.model_copy(update={"rate_limit_per_minute": 1})) as http:
        first = await http.get(url, headers=acme.auth(Role.ADMIN))
        refused = await http.get(url, headers=acme.auth(Role.ADMIN))
    assert (first.status_code, refused.status_code) == (200, 429)
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["status"] == 429
    assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "retry-after"} <= set(
        refused.headers
    )


def test_the_openapi_document_describes_the_archive_routes() -> None:
    app: FastAPI = create_app(
        GatewaySettings(database_url="postgresql://-/-", redis_url="redis://-")
    )
    spec = app.openapi()
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    routes = {
        "/v1/incidents/{incident_id}/archive.json": "getIncidentArchiveJson",
        "/v1/incidents/{incident_id}/archive.html": "getIncidentArchiveHtml",
        "/v1/incidents/{incident_id}/review-report.html": "getReviewReportHtml",
    }
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operation_id in routes.items():
        operation = spec["paths"][path]["get"]
        assert operation["operationId"] == operation_id
        assert operation["security"] == [{"bearerAuth": []}]
        responses = operation["responses"]
        # Only signing can be unavailable: the review report is not signed.
        refusals = {"401", "403", "404", "422", "429"} | (
            set() if path.endswith("review-report.html") else {"503"}
        )
        assert {s for s in responses if s[0] in "45"} == refusals
        for status in refusals:
            assert responses[status]["content"] == problem, (path, status)
        assert "Content-Disposition" in responses["200"]["headers"]
    assert spec["paths"]["/v1/archive/signing-key"]["get"]["operationId"] == "getArchiveSigningKey"
    assert "security" not in spec["paths"]["/v1/archive/signing-key"]["get"]
    assert {"type", "title", "status", "detail", "errors"} <= set(
        spec["components"]["schemas"]["Problem"]["properties"]
    )
