"""A drill's crisis and a real one never share an incident, even when their posts share a story.

Stories span the organization and drill posts repeat fixed texts (a replay copies real posts
word for word), so the story join is where they could meet: a real crisis swallowed by a
drill's incident would be suppressed and left off the dashboards.
"""

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from crisiswatch.drill_stream import script, stamped
from libs.contracts.drills import SCENARIOS
from libs.contracts.enums import DrillScenario, Role
from libs.contracts.messages import MentionIngested
from libs.database.engine import transaction
from libs.database.tables import AppliedSignal, Incident, RiskSignal
from services.ingest.schemas import MentionIn
from services.ingest.service import store_batch
from tests.fixtures.servers import EMBEDDED_ONLY
from tests.fixtures.workers import handled, settled
from tests.gateway.builders import System, tenant, watchlist

START = """
mutation($input: StartDrillInput!) {
  startDrill(input: $input) { __typename ... on Drill { databaseId watchlist { databaseId } } }
}
"""
SPEED = 3600


async def _play(system: System, org: uuid.UUID, drill_id: str | None) -> None:
    """Play the product-safety script's first two minutes, as a drill's or as real posts."""
    now = datetime.now(UTC)
    laid_out = script(DrillScenario.PRODUCT_SAFETY, drill_id or uuid.uuid4().hex, now)
    wave = [stamped(p, now + timedelta(seconds=at / SPEED)) for at, p in laid_out.live if at < 120]
    for posts in (laid_out.history, wave):
        if drill_id is None:
            posts = [
                {k: v for k, v in p.items() if k != "drill_id"}
                | {"external_id": f"real-{p['external_id']}"}
                for p in posts
            ]
        given = {n: MentionIn.model_validate(p) for n, p in enumerate(posts)}
        async with transaction(system.sessions) as session:
            stored = await store_batch(session, org, given)
        await handled(
            system.redis, MentionIngested(organization_id=org, mention_ids=stored.new_ids)
        )
    await settled(system.sessions, system.redis, org)


async def _start(system: System, owner: object) -> tuple[str, uuid.UUID]:
    started = await system.mutate(
        owner,  # type: ignore[arg-type]
        Role.RESPONDER,
        START,
        {"input": {"scenario": "PRODUCT_SAFETY", "speed": SPEED}},
    )
    assert started["__typename"] == "Drill", started
    return started["databaseId"], uuid.UUID(started["watchlist"]["databaseId"])


@EMBEDDED_ONLY
async def test_two_drills_and_a_real_crisis_each_keep_their_own_incident(system: System) -> None:
    owner = await tenant(system, "isolated")
    org = owner.org.id
    first_drill, first_watchlist = await _start(system, owner)
    await _play(system, org, first_drill)
    second_drill, second_watchlist = await _start(system, owner)
    await _play(system, org, second_drill)
    brand = SCENARIOS[DrillScenario.PRODUCT_SAFETY]
    real = await watchlist(system, owner, brand.brand, list(brand.keywords))
    await _play(system, org, None)

    async with system.sessions() as session:
        incidents = {
            watchlist_id: drill
            for watchlist_id, drill in (
                await session.exec(
                    select(Incident.watchlist_id, Incident.drill).where(
                        col(Incident.organization_id) == org
                    )
                )
            ).all()
        }
        applied = (
            await session.exec(
                select(RiskSignal.watchlist_id, Incident.watchlist_id)
                .join(AppliedSignal, col(AppliedSignal.signal_id) == col(RiskSignal.id))
                .join(Incident, col(Incident.id) == col(AppliedSignal.incident_id))
                .where(col(RiskSignal.organization_id) == org)
            )
        ).all()
    assert incidents == {first_watchlist: True, second_watchlist: True, real: False}
    # Every signal that reached an incident reached its own watchlist's.
    assert applied and all(raised_on == opened_on for raised_on, opened_on in applied)
