"""Watchlist kinds end to end: set through the gateway, applied by the real workers.

A competitor watchlist is analysed and tiered like the brand's own, but its signals never
open or join an incident: incidents marks them applied as `watch_only`, so they are not
left looking unapplied either.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import col, select

from gateway.tests.conftest import gid
from libs.contracts.enums import Role
from libs.contracts.messages import MentionIngested
from libs.database.tables import AppliedSignal, Incident, RiskSignal
from libs.metrics.cluster import CRISIS_TIERS
from services.analysis.tests.builders import store_crisis
from tests.builders import Tenant, read_all
from tests.fixtures.workers import handled, settled
from tests.gateway.builders import System

FIELDS = "databaseId name kind kindLabel currentTier"
CREATE = f"""
mutation($input: CreateWatchlistInput!) {{
  createWatchlist(input: $input) {{
    __typename ... on Watchlist {{ {FIELDS} }} ... on Refusal {{ message }}
  }}
}}
"""
UPDATE = f"""
mutation($input: UpdateWatchlistInput!) {{
  updateWatchlist(input: $input) {{
    __typename ... on Watchlist {{ {FIELDS} }} ... on Refusal {{ message }}
  }}
}}
"""
LISTED = f"""
query($kind: WatchlistKind) {{ watchlists(filter: {{ kind: $kind }}) {{ {FIELDS} }} }}
"""


async def listed(system: System, owner: Tenant, kind: str | None) -> list[dict[str, Any]]:
    """Return the watchlists of `kind` (all without one) as the gateway lists them."""
    body = await system.post(owner.auth(Role.VIEWER), LISTED, {"kind": kind})
    assert "errors" not in body, body
    rows: list[dict[str, Any]] = body["data"]["watchlists"]
    return rows


async def test_a_kind_is_set_changed_and_filtered_on(system: System, acme: Tenant) -> None:
    plain = await system.mutate(
        acme, Role.RESPONDER, CREATE, {"input": {"name": "禾岚乳业", "keywords": ["禾岚"]}}
    )
    rival = await system.mutate(
        acme,
        Role.RESPONDER,
        CREATE,
        {"input": {"name": "竞品·澳优", "keywords": ["澳优"], "kind": "COMPETITOR"}},
    )
    assert (plain["kind"], plain["kindLabel"]) == ("OWN_BRAND", "本品牌")
    assert (rival["kind"], rival["kindLabel"]) == ("COMPETITOR", "竞品")

    moved = await system.mutate(
        acme,
        Role.RESPONDER,
        UPDATE,
        {"input": {"id": gid("Watchlist", rival["databaseId"]), "kind": "INDUSTRY"}},
    )
    assert (moved["kind"], moved["kindLabel"], moved["name"]) == ("INDUSTRY", "行业", "竞品·澳优")
    renamed = await system.mutate(
        acme,
        Role.RESPONDER,
        UPDATE,
        {"input": {"id": gid("Watchlist", rival["databaseId"]), "name": "奶粉行业"}},
    )
    assert renamed["kind"] == "INDUSTRY", "a change that names no kind keeps it"

    assert [w["name"] for w in await listed(system, acme, "INDUSTRY")] == ["奶粉行业"]
    assert [w["name"] for w in await listed(system, acme, "OWN_BRAND")] == ["禾岚乳业"]
    assert await listed(system, acme, "COMPETITOR") == []
    assert len(await listed(system, acme, None)) == 2


async def test_a_competitor_surge_goes_red_but_opens_and_joins_no_incident(
    system: System, acme: Tenant
) -> None:
    org = acme.org.id
    competitor = await system.mutate(
        acme,
        Role.RESPONDER,
        CREATE,
        {"input": {"name": "竞品·禾岚", "keywords": ["禾岚"], "kind": "COMPETITOR"}},
    )
    # The same stream matches an own-brand watchlist named 禾岚 (stored by the builder):
    # a quiet history, then 40 complaints with a media account, all one story.
    own, history, burst = await store_crisis(system.sessions, org, datetime.now(UTC))
    await handled(system.redis, MentionIngested(organization_id=org, mention_ids=history))
    await handled(system.redis, MentionIngested(organization_id=org, mention_ids=burst))
    await settled(system.sessions, system.redis, org)

    tiers = {w["name"]: (w["kind"], w["currentTier"]) for w in await listed(system, acme, None)}
    assert tiers == {"禾岚": ("OWN_BRAND", "RED"), "竞品·禾岚": ("COMPETITOR", "RED")}

    incidents = await read_all(
        system.sessions, select(Incident).where(col(Incident.organization_id) == org)
    )
    assert [i.watchlist_id for i in incidents] == [own.id], "only the brand's crisis is handled"

    competitor_id = competitor["databaseId"]
    async with system.sessions() as session:
        marks = (
            await session.exec(
                select(RiskSignal.tier, AppliedSignal.outcome, AppliedSignal.incident_id)
                .join(AppliedSignal, col(AppliedSignal.signal_id) == col(RiskSignal.id))
                .where(col(RiskSignal.watchlist_id) == competitor_id)
            )
        ).all()
    assert any(tier == "red" for tier, _, _ in marks), marks
    assert {(outcome, incident) for _, outcome, incident in marks} == {("watch_only", None)}

    # What the unapplied-signals gauge counts, for this organization: nothing owed.
    async with system.sessions() as session:
        owed = await session.exec(
            text(  # type: ignore[call-overload]
                "SELECT count(*) FROM risk_signal s WHERE s.organization_id = :org"
                " AND s.tier = ANY(:crisis)"
                " AND NOT EXISTS (SELECT 1 FROM applied_signal a WHERE a.signal_id = s.id)"
            ),
            params={"org": org, "crisis": list(CRISIS_TIERS)},
        )
        assert owed.one()[0] == 0
