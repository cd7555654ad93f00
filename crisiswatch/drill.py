"""`crisiswatch drill`: play a drill through a running system and print its score card.

Talks to the system only through its public APIs, as the demo does: `startDrill` makes the
drill and its own watchlist (analysis), the posts go to the ingest REST API naming the
drill (`drill_id`), and `endDrill` stores the score card. Nothing here sends to a webhook
or a chat: notify does that, and for a drill it sends nothing (SUPPRESS, the default) or
marks it 【演练】.

Speed: the live pipeline decides at the wall clock's time, which a drill cannot move. So
the player paces the live posts instead: a post `t` stream seconds into the scenario is
sent (and stamped as posted) `t / speed` wall seconds after the start, and the score card
counts wall spans `speed` times over. The history before the start goes first, back-dated,
as a backfill. (`docs/drills.md` has the reasoning, and how the review-report example is
made on a stream clock instead.)
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from crisiswatch.demo import DemoError, _Api
from crisiswatch.demo_stream import Post
from crisiswatch.drill_stream import Script, replay, script, stamped
from libs.contracts.enums import DrillDelivery, DrillScenario

SEND_BATCH = 200
REPLAY_PAGE = 200
REPLAY_BEFORE = timedelta(hours=6)
REFUSED = "... on Refusal { message } ... on InvalidInput { field }"
DRILL_FIELDS = """
  id databaseId scenario scenarioLabel speed delivery state
  watchlist { id name keywords }
  scoreCard {
    deadlinesMet deadlinesMissed secondsToAcknowledge incidentsOpened
    statementsDrafted statementsThroughReview participants
    deadlines { title allowedSeconds doneAfterSeconds outcomeKind }
  }
"""
START_DRILL = f"""
mutation($input: StartDrillInput!) {{
  startDrill(input: $input) {{ __typename ... on Drill {{ {DRILL_FIELDS} }} {REFUSED} }}
}}
"""
END_DRILL = f"""
mutation($input: EndDrillInput!) {{
  endDrill(input: $input) {{ __typename ... on Drill {{ {DRILL_FIELDS} }} {REFUSED} }}
}}
"""
DRILL_INCIDENTS = """
query($watchlist: ID!) {
  incidents(first: 5, filter: {watchlistId: $watchlist, includeDrills: true}) {
    nodes { id title tier status drill detectedAt }
  }
}
"""
REPLAYED = """
query($id: ID!) { incident(id: $id) { detectedAt resolvedAt watchlist { id } } }
"""
REPLAYED_MENTIONS = """
query($filter: MentionFilter, $after: String) {
  mentions(
    first: 200, after: $after, filter: $filter, orderBy: {field: POSTED_AT, direction: ASC}
  ) {
    pageInfo { hasNextPage endCursor }
    nodes {
      source externalId text url postedAt repostOf
      metrics { reposts comments likes views }
      author { handle followers verified kind }
    }
  }
}
"""


@dataclass(frozen=True)
class DrillResult:
    """What a drill sent and the score card it ended with."""

    drill: dict[str, Any]
    posts_sent: int
    incidents: list[dict[str, Any]]


def _as_post(node: dict[str, Any]) -> Post:
    """Return a mention read over GraphQL as the ingest payload that would store it again."""
    author = node.get("author")
    return {
        "source": str(node["source"]).lower(),
        "external_id": node["externalId"],
        "text": node["text"],
        "url": node.get("url"),
        "posted_at": node["postedAt"],
        "author": (
            {
                "handle": author["handle"],
                "followers": author["followers"],
                "verified": author["verified"],
                "kind": str(author["kind"]).lower(),
            }
            if author
            else {"handle": "匿名用户"}
        ),
        "metrics": node["metrics"],
        "repost_of": node.get("repostOf"),
    }


async def _replayed(api: _Api, incident_id: str) -> list[Post]:
    """Return the mentions of the incident's watchlist around it, in posting order."""
    found = (await api.graphql(REPLAYED, {"id": incident_id}))["incident"]
    if found is None:
        raise DemoError(f"no incident {incident_id} to replay")
    detected = datetime.fromisoformat(found["detectedAt"])
    until = found["resolvedAt"] or datetime.now(UTC).isoformat()
    where = {
        "watchlistId": found["watchlist"]["id"],
        "since": (detected - REPLAY_BEFORE).isoformat(),
        "until": until,
    }
    posts: list[Post] = []
    after: str | None = None
    while True:
        page = (await api.graphql(REPLAYED_MENTIONS, {"filter": where, "after": after}))["mentions"]
        posts += [_as_post(node) for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            return posts
        after = page["pageInfo"]["endCursor"]


async def _play(api: _Api, laid_out: Script, speed: float, out: Callable[[str], None]) -> int:
    """Send the history at once, then each live post when its stream time comes."""
    sent = await api.ingest(laid_out.history) if laid_out.history else 0
    start_wall, start_at = time.monotonic(), datetime.now(UTC)
    pending = list(laid_out.live)
    while pending:
        elapsed = (time.monotonic() - start_wall) * speed
        due = [post for offset, post in pending if offset <= elapsed]
        pending = [(offset, post) for offset, post in pending if offset > elapsed]
        for begin in range(0, len(due), SEND_BATCH):
            now = datetime.now(UTC)
            sent += await api.ingest([stamped(p, now) for p in due[begin : begin + SEND_BATCH]])
        if pending:
            wait = (pending[0][0] - elapsed) / speed
            await asyncio.sleep(min(max(wait, 0.0), 1.0))
    out(f"  播放完毕：流时间 {laid_out.stream_seconds / 3600:.1f} 小时，自 {start_at:%H:%M:%S} 起")
    return sent


def score_lines(drill: dict[str, Any]) -> list[str]:
    """Render a drill's score card as lines for the terminal."""
    card = drill.get("scoreCard")
    if not card:
        return ["（演练尚未结束，没有评分卡）"]
    ack = card["secondsToAcknowledge"]
    lines = [
        f"评分卡：演练「{drill['scenarioLabel']}」× {drill['speed']:g} 倍速",
        f"  事件 {card['incidentsOpened']} 起；确认用时 "
        + (f"{ack / 60:.1f} 分钟（流时间）" if ack is not None else "未确认"),
        f"  截止时限：达成 {card['deadlinesMet']}，错过 {card['deadlinesMissed']}",
        f"  声明：起草 {card['statementsDrafted']}，通过审核 {card['statementsThroughReview']}",
        f"  参与者：{'、'.join(card['participants']) or '无'}",
    ]
    for deadline in card["deadlines"]:
        mark = {"MET": "✔", "MISSED": "✘"}.get(deadline["outcomeKind"], "…")
        lines.append(
            f"  {mark} {deadline['title']}（时限 {deadline['allowedSeconds'] / 60:.0f} 分钟）"
        )
    return lines


async def run_drill(
    *,
    ingest_url: str,
    gateway_url: str,
    ingest_key: str,
    admin_key: str,
    scenario: DrillScenario | None,
    speed: float = 60.0,
    delivery: DrillDelivery = DrillDelivery.SUPPRESS,
    replay_incident_id: str | None = None,
    respond_seconds: float = 0.0,
    out: Callable[[str], None] = print,
) -> DrillResult:
    """Start a drill, play its posts, give the team `respond_seconds`, end it, print its card."""
    async with httpx.AsyncClient(timeout=30.0) as client:
        api = _Api(
            client,
            ingest_url=ingest_url,
            gateway_url=gateway_url,
            ingest_key=ingest_key,
            admin_key=admin_key,
        )
        given: dict[str, Any] = {"speed": speed, "delivery": delivery.name}
        if scenario is not None:
            given["scenario"] = scenario.name
        if replay_incident_id is not None:
            given["replayIncidentId"] = replay_incident_id
        started = (await api.graphql(START_DRILL, {"input": given}))["startDrill"]
        if started["__typename"] != "Drill":
            raise DemoError(
                f"startDrill answered {started['__typename']}: {started.get('message')}"
            )
        sending = "仅标注【演练】后发出" if delivery is DrillDelivery.LABEL else "一律不外发"
        out(
            f"【演练】{started['scenarioLabel']}：演练监测清单「{started['watchlist']['name']}」，"
            f"{speed:g} 倍速，消息{sending}"
        )
        drill_id = str(started["databaseId"])
        if replay_incident_id is not None:
            laid_out = replay(await _replayed(api, replay_incident_id), drill_id)
        else:
            assert scenario is not None
            laid_out = script(scenario, drill_id, datetime.now(UTC))
        sent = await _play(api, laid_out, speed, out)
        if respond_seconds > 0:
            out(f"  应对时间 {respond_seconds:g} 秒：请在控制台处理演练事件……")
            await asyncio.sleep(respond_seconds)
        watched = started["watchlist"]["id"]
        incidents = (await api.graphql(DRILL_INCIDENTS, {"watchlist": watched}))["incidents"]
        ended = (await api.graphql(END_DRILL, {"input": {"id": started["id"]}}))["endDrill"]
    for line in score_lines(ended):
        out(line)
    return DrillResult(drill=ended, posts_sent=sent, incidents=incidents["nodes"])
