"""GraphQL subscriptions over a real WebSocket, fed by the real workers' commits through Redis.

Mentions are analysed by the analysis worker, signals raised by it, incidents changed by
the incidents worker through the gateway's own mutations; each announces its notices only
after its commit. A notice a subscriber must not get is committed first and a wanted one
after: the wanted one must be the first to arrive.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from gateway.tests.conftest import gid
from gateway.tests.subscription_support import (
    INCIDENT_UPDATES,
    MENTIONS,
    SIGNALS,
    bearer,
    live_client,
    serve_gateway,
)
from gateway.tests.war_room_ops import ACKNOWLEDGE, OPS
from libs.contracts.enums import Role, Source
from libs.database.tables import RiskSignal
from libs.messaging import live
from tests.builders import Tenant
from tests.gateway.builders import System, analysed, war_room, watchlist

COMPLAINT = "奶粉喝了拉肚子，客服不回"


def reports(brand: str, first: int, count: int) -> list[str]:
    """Parents' reports of one product scare, numbered so no two are the same post."""
    return [
        f"{brand}启护3段奶粉罐里发现黑色异物，宝宝喝了以后呕吐腹泻，"
        f"家长已向市场监管局投诉维权（第{n}位家长）"
        for n in range(first, first + count)
    ]


def viewer(tenant: Tenant) -> dict[str, str]:
    """The `connection_init` payload of the tenant's viewer key."""
    return bearer(tenant.keys[Role.VIEWER])


async def test_a_mention_stream_delivers_only_what_its_filter_selects(
    system: System, acme: Tenant
) -> None:
    watched = await watchlist(system, acme, "禾岚", ["禾岚"])
    selected = {
        "sentiment": "NEGATIVE",
        "source": "WEIBO",
        "watchlistId": gid("Watchlist", watched),
    }
    async with live_client(system.gateway.url, viewer(acme)) as client:
        operation = await client.subscribe(MENTIONS, {"filter": selected})
        await system.gateway.listening(acme.org.id)
        await analysed(system, acme, "禾岚奶粉很好，宝宝爱喝")
        await analysed(system, acme, "别家" + COMPLAINT)
        await analysed(system, acme, "抖音上说禾岚奶粉喝了拉肚子", source=Source.DOUYIN)
        [complaint] = await analysed(system, acme, "禾岚" + COMPLAINT)
        data = await client.next_data(operation)
    assert data["mentions"] == {
        "databaseId": str(complaint),
        "source": "WEIBO",
        "text": "禾岚" + COMPLAINT,
        "analysis": {"sentiment": "NEGATIVE"},
    }


async def test_another_organizations_subscriber_hears_nothing_of_it(
    system: System, acme: Tenant, rival: Tenant
) -> None:
    async with (
        live_client(system.gateway.url, viewer(acme)) as acme_client,
        live_client(system.gateway.url, viewer(rival)) as rival_client,
    ):
        acme_operation = await acme_client.subscribe(MENTIONS)
        rival_operation = await rival_client.subscribe(MENTIONS)
        await system.gateway.listening(acme.org.id)
        await system.gateway.listening(rival.org.id)
        [ours] = await analysed(system, acme, COMPLAINT)
        heard_by_acme = await acme_client.next_data(acme_operation)
        [theirs] = await analysed(system, rival, "竞品奶粉结块")
        heard_by_rival = await rival_client.next_data(rival_operation)
    assert heard_by_acme["mentions"]["databaseId"] == str(ours)
    assert heard_by_rival["mentions"]["databaseId"] == str(theirs)


async def test_a_notice_naming_another_organizations_row_delivers_nothing(
    system: System, acme: Tenant, rival: Tenant
) -> None:
    # A forged notice on acme's channel naming rival's mention: loading re-checks the
    # organization, so acme's subscriber gets nothing until its own mention arrives.
    [theirs] = await analysed(system, rival, "竞品奶粉结块")
    facts = live.MentionFacts(sentiment="negative", source="weibo", posted_at=datetime.now(UTC))
    forged = live.mention_notice(acme.org.id, theirs, facts)
    async with live_client(system.gateway.url, viewer(acme)) as client:
        operation = await client.subscribe(MENTIONS)
        await system.gateway.listening(acme.org.id)
        await live.announce(system.redis, [forged])
        [ours] = await analysed(system, acme, COMPLAINT)
        data = await client.next_data(operation)
    assert data["mentions"]["databaseId"] == str(ours)


async def test_risk_signals_honour_the_watchlist_and_the_minimum_tier(
    system: System, acme: Tenant
) -> None:
    watched = await watchlist(system, acme, "禾岚", ["禾岚"])
    other = await watchlist(system, acme, "澄川", ["澄川"])
    # Three hours of ordinary talk first: a baseline the reports below can stand out from
    # (a brand-new watchlist has none, and is judged on absolute evidence alone).
    for brand in ("禾岚", "澄川"):
        talk = [f"{brand}奶粉今天到货了，第{n}罐，准备给宝宝换段" for n in range(12)]
        await analysed(system, acme, *talk, ago=[timedelta(minutes=15 * n + 20) for n in range(12)])
    variables = {"watchlistId": gid("Watchlist", watched), "minTier": "ORANGE"}
    async with live_client(system.gateway.url, viewer(acme)) as client:
        operation = await client.subscribe(SIGNALS, variables)
        await system.gateway.listening(acme.org.id)
        await analysed(system, acme, *reports("澄川", 0, 6))
        await analysed(system, acme, *reports("禾岚", 6, 4))
        await analysed(system, acme, *reports("禾岚", 10, 6))
        data = await client.next_data(operation)
    async with system.sessions() as session:
        raised = (
            await session.exec(
                select(RiskSignal)
                .where(col(RiskSignal.organization_id) == acme.org.id)
                .order_by(col(RiskSignal.created_at))
            )
        ).all()
    # What the analysis service decided: an orange signal for the other watchlist, then a
    # blue one (too few posts for more) and an orange one for the watched one.
    assert [(s.watchlist_id, s.tier) for s in raised] == [
        (other, "orange"),
        (watched, "blue"),
        (watched, "orange"),
    ]
    wanted = raised[-1]
    assert data["riskSignals"] == {
        "databaseId": str(wanted.id),
        "tier": "ORANGE",
        "score": wanted.score,
        "reasons": wanted.reasons,
    }


async def test_incident_updates_follow_one_incident_and_show_it_as_it_is_now(
    system: System,
) -> None:
    room = await war_room(system)
    followed = gid("Incident", room.incident)

    async def acknowledge(incident: str, note: str) -> None:
        variables = {"id": incident, "note": note}
        await system.mutate(room.tenant, Role.RESPONDER, ACKNOWLEDGE, variables)

    async with live_client(system.gateway.url, viewer(room.tenant)) as client:
        operation = await client.subscribe(INCIDENT_UPDATES, {"incidentId": followed})
        await system.gateway.listening(room.tenant.org.id)
        await acknowledge(gid("Incident", room.other_incident), "其他事件已确认")
        await acknowledge(followed, "事件已确认")
        # Acknowledging completes the acknowledge task, then changes the status.
        acknowledged = [
            (await client.next_data(operation))["incidentUpdates"] for _ in ("task", "status")
        ]
        variables = {"id": followed, "to": "RESPONDING", "reason": "开始处置"}
        await system.mutate(
            room.tenant, Role.RESPONDER, OPS["transitionIncident"].document, variables
        )
        responding = (await client.next_data(operation))["incidentUpdates"]
    shown = {"databaseId": str(room.incident), "status": "ACKNOWLEDGED", "tier": "ORANGE"}
    assert [_without_time(update) for update in acknowledged] == [
        {
            "change": "task_done",
            "incident": shown,
            "event": {"kind": "task_done", "message": "任务「确认事件并启动监测」已完成"},
        },
        {
            "change": "status_changed",
            "incident": shown,
            "event": {
                "kind": "status_changed",
                "message": "事件状态由已发现变更为已确认，原因：事件已确认",
            },
        },
    ]
    # Read afresh for every delivery: the connection's earlier read is not reused.
    assert responding["incident"]["status"] == "RESPONDING"
    assert responding["event"] == {
        "kind": "status_changed",
        "message": "事件状态由已确认变更为处置中，原因：开始处置",
    }


def _without_time(update: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in update.items() if key != "at"}


async def test_two_gateway_processes_both_deliver_a_commit(system: System, acme: Tenant) -> None:
    async with (
        serve_gateway(system.settings) as first,
        serve_gateway(system.settings) as second,
        live_client(first.url, viewer(acme)) as on_first,
        live_client(second.url, viewer(acme)) as on_second,
    ):
        first_operation = await on_first.subscribe(MENTIONS)
        second_operation = await on_second.subscribe(MENTIONS)
        await first.listening(acme.org.id)
        await second.listening(acme.org.id)
        [mention] = await analysed(system, acme, COMPLAINT)
        heard = [
            await on_first.next_data(first_operation),
            await on_second.next_data(second_operation),
        ]
    assert [h["mentions"]["databaseId"] for h in heard] == [str(mention)] * 2


async def test_the_key_may_come_in_the_upgrade_requests_header(
    system: System, acme: Tenant
) -> None:
    async with live_client(system.gateway.url, None, headers=acme.auth(Role.VIEWER)) as client:
        operation = await client.subscribe(MENTIONS)
        await system.gateway.listening(acme.org.id)
        [mention] = await analysed(system, acme, COMPLAINT)
        data = await client.next_data(operation)
    assert data["mentions"]["databaseId"] == str(mention)
