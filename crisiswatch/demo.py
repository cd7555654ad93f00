"""`crisiswatch demo`: play a product-safety crisis into a running system and watch it react.

Talks to the system only through its public APIs, as a partner and a frontend would: the
watchlist is made over GraphQL, the posts go to the ingest REST API, and the incident is
read back over GraphQL. The posts themselves come from `crisiswatch.demo_stream`.
"""

import asyncio
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx

from crisiswatch.demo_stream import BRAND, BRAND_KEYWORDS, MEDIA_HANDLE, Post, chatter, crisis
from libs.progress import Progress, silent

INGEST_BATCH = 1000
# Chatter goes in small batches so that, with a pause, it can be watched arriving.
CHATTER_BATCH = 10
POLL_SECONDS = 0.5
REPLAY_WAIT_SECONDS = 5.0
_CRISIS_TIERS = ("orange", "red")
_CLOSED_STATUSES = ("resolved", "closed", "merged", "false_alarm")
_BEIJING = timezone(timedelta(hours=8))
# The stages `run_demo` reports progress for: posts sent, then seconds waited.
CHATTER_STAGE = "日常讨论（条）"
SPIKE_STAGE = "危机爆发（条）"
WAIT_STAGE = "等待识别（秒）"

CREATE_WATCHLIST = """
mutation($input: CreateWatchlistInput!) {
  createWatchlist(input: $input) {
    __typename
    ... on Watchlist { id name }
    ... on Conflict { message }
    ... on InvalidInput { message field }
    ... on Forbidden { message }
  }
}
"""
WATCHLISTS = "{ watchlists { id name keywords } }"
INCIDENTS = """
query {
  incidents(first: 5) {
    edges {
      node {
        id databaseId title tier status detectedAt
        watchlist { id }
        latestSignal { id tier score reasons }
        tasksConnection(first: 20) { nodes { id title kind dueAt status } }
      }
    }
  }
}
"""


class DemoError(Exception):
    """An API refused a request or could not be reached; the message says which and why."""


@dataclass(frozen=True)
class DemoResult:
    """What a demo run sent and what the system made of it."""

    watchlist_id: str
    mentions_sent: int
    accepted: int
    incident: dict[str, Any] | None
    seconds_to_incident: float | None


class _Api:
    """The two public APIs of a running system, with the demo's keys."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        ingest_url: str,
        gateway_url: str,
        ingest_key: str,
        admin_key: str,
    ) -> None:
        self._client = client
        self._ingest_url = ingest_url.rstrip("/")
        self._graphql_url = f"{gateway_url.rstrip('/')}/graphql"
        self._ingest_key = ingest_key
        self._admin_key = admin_key

    async def _post(self, url: str, key: str, body: dict[str, Any]) -> Any:
        try:
            response = await self._client.post(
                url, json=body, headers={"Authorization": f"Bearer {key}"}
            )
        except httpx.HTTPError as exc:
            raise DemoError(f"cannot reach {url}: {exc!r}") from exc
        if response.is_error:
            raise DemoError(f"{url} answered {response.status_code}: {response.text}")
        try:
            return response.json()
        except ValueError as exc:
            raise DemoError(f"{url} answered non-JSON: {response.text[:500]}") from exc

    async def graphql(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        """Run a GraphQL operation as the admin and return its data."""
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        answer = await self._post(self._graphql_url, self._admin_key, body)
        if answer.get("errors"):
            messages = "; ".join(str(error.get("message")) for error in answer["errors"])
            raise DemoError(f"{self._graphql_url} answered errors: {messages}")
        return answer["data"]

    async def ingest(
        self, posts: Sequence[Post], progress: Progress = silent, stage: str = ""
    ) -> int:
        """Send posts in batches and return how many ingest accepted as new; report each
        batch sent to `progress` as `stage`."""
        accepted = 0
        for start in range(0, len(posts), INGEST_BATCH):
            batch = list(posts[start : start + INGEST_BATCH])
            answer = await self._post(
                f"{self._ingest_url}/v1/mentions", self._ingest_key, {"mentions": batch}
            )
            accepted += int(answer["accepted"])
            progress(stage, start + len(batch), len(posts))
        return accepted

    async def ensure_watchlist(self) -> tuple[str, bool]:
        """Return the brand's watchlist id and whether this call created it."""
        variables = {"input": {"name": BRAND, "keywords": list(BRAND_KEYWORDS)}}
        result = (await self.graphql(CREATE_WATCHLIST, variables))["createWatchlist"]
        kind = result["__typename"]
        if kind == "Watchlist":
            return str(result["id"]), True
        if kind != "Conflict":
            raise DemoError(f"createWatchlist answered {kind}: {result.get('message')}")
        for watchlist in (await self.graphql(WATCHLISTS))["watchlists"]:
            if watchlist["name"] == BRAND:
                return str(watchlist["id"]), False
        raise DemoError(f"createWatchlist reported a conflict but no watchlist is named {BRAND}")

    async def incidents(self) -> list[dict[str, Any]]:
        """Return the most recently detected incidents."""
        data = await self.graphql(INCIDENTS)
        return [edge["node"] for edge in data["incidents"]["edges"]]


def _tier(incident: dict[str, Any]) -> str:
    return str(incident.get("tier") or "").lower()


def _is_crisis(incident: dict[str, Any], watchlist_id: str) -> bool:
    """Return whether the incident is an orange or red one of the demo's watchlist."""
    watchlist = incident.get("watchlist")
    if watchlist is not None and watchlist.get("id") != watchlist_id:
        return False
    return _tier(incident) in _CRISIS_TIERS


def _is_open(incident: dict[str, Any]) -> bool:
    return str(incident.get("status") or "").lower() not in _CLOSED_STATUSES


def _signal_id(incident: dict[str, Any]) -> str | None:
    signal = incident.get("latestSignal")
    return None if signal is None else str(signal.get("id"))


def _snapshot(incidents: list[dict[str, Any]]) -> dict[str, tuple[str, str | None]]:
    """Return each incident's tier and latest signal, to tell later what the spike changed."""
    return {incident["id"]: (_tier(incident), _signal_id(incident)) for incident in incidents}


def _is_news(incident: dict[str, Any], before: dict[str, tuple[str, str | None]]) -> bool:
    """Return whether the incident is new since the spike, or the spike raised or joined it."""
    if incident["id"] not in before:
        return True
    tier, signal_id = before[incident["id"]]
    return tier not in _CRISIS_TIERS or signal_id != _signal_id(incident)


async def _wait_for_incident(
    api: _Api,
    watchlist_id: str,
    before: dict[str, tuple[str, str | None]],
    started: float,
    timeout: float,
    progress: Progress = silent,
) -> tuple[dict[str, Any] | None, float | None]:
    """Poll until the spike shows up as an orange or red incident, or `timeout` passes."""
    while True:
        progress(WAIT_STAGE, min(int(time.monotonic() - started), int(timeout)), int(timeout))
        incidents = await api.incidents()
        for incident in incidents:
            if _is_crisis(incident, watchlist_id) and _is_news(incident, before):
                return incident, time.monotonic() - started
        if time.monotonic() - started >= timeout:
            # A replay that leaves an earlier run's open incident unchanged (no new signal at
            # the same tier) is still covered by it: show it, without claiming a time.
            for incident in incidents:
                if _is_crisis(incident, watchlist_id) and _is_open(incident):
                    return incident, None
            return None, None
        await asyncio.sleep(POLL_SECONDS)


def _local(moment: datetime) -> str:
    return moment.astimezone(_BEIJING).strftime("%m-%d %H:%M")


def _parse(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _describe(incident: dict[str, Any], seconds: float | None, gateway_url: str) -> list[str]:
    """Render the incident and its response tasks as lines for the terminal."""
    if seconds is None:
        lines = ["⚠ 没有新的信号，这次的帖子仍由先前演示未关闭的事件覆盖："]
    else:
        lines = [f"✔ 危机爆发后 {seconds:.1f} 秒检测到事件："]
    lines.append(
        f"  《{incident.get('title')}》 级别 {incident.get('tier')} · 状态 {incident.get('status')}"
    )
    detected = _parse(incident.get("detectedAt"))
    if detected is not None:
        lines.append(f"  检测时间 {_local(detected)}（北京时间）")
    signal = incident.get("latestSignal") or {}
    reasons = [str(reason) for reason in signal.get("reasons") or []]
    if reasons:
        lines.append(f"  判断依据：{'；'.join(reasons[:6])}")
    tasks = (incident.get("tasksConnection") or {}).get("nodes") or []
    if tasks:
        lines.append("  响应任务：")
    for task in tasks:
        due = _parse(task.get("dueAt"))
        when = str(task.get("dueAt"))
        if due is not None:
            when = _local(due)
            if detected is not None:
                minutes = round((due - detected).total_seconds() / 60)
                after = f"{minutes // 60} 小时" if minutes >= 120 else f"{minutes} 分钟"
                when += f"（检测后 {after}）"
        lines.append(f"  - {task.get('title')} [{task.get('kind')}] 截止 {when}")
    lines.append(f"打开 {gateway_url.rstrip('/')}/graphql 查看事件、时间线和任务。")
    return lines


async def run_demo(
    *,
    ingest_url: str,
    gateway_url: str,
    ingest_key: str,
    admin_key: str,
    out: Callable[[str], None] = print,
    chatter_pause: float = 0.0,
    timeout: float = 20.0,
    progress: Progress = silent,
) -> DemoResult:
    """Play chatter, then a crisis, into a running system and report the incident it opens.

    `progress` hears how many posts of each stage are sent and how long the wait has lasted.
    """
    run_id = f"demo-{secrets.token_hex(4)}"
    async with httpx.AsyncClient(timeout=30.0) as client:
        api = _Api(
            client,
            ingest_url=ingest_url,
            gateway_url=gateway_url,
            ingest_key=ingest_key,
            admin_key=admin_key,
        )
        watchlist_id, created = await api.ensure_watchlist()
        state = "已创建" if created else "已存在"
        out(f"演示品牌「{BRAND}」（虚构），监测清单{state}：{watchlist_id}")
        out(f"关键词：{'、'.join(BRAND_KEYWORDS)}；本次演示编号 {run_id}")

        posts = chatter(run_id, datetime.now(UTC))
        accepted = 0
        for start in range(0, len(posts), CHATTER_BATCH):
            chunk = posts[start : start + CHATTER_BATCH]
            progress(CHATTER_STAGE, start, len(posts))
            accepted += await api.ingest(chunk)
            progress(CHATTER_STAGE, start + len(chunk), len(posts))
            if chatter_pause > 0:
                await asyncio.sleep(chatter_pause)
        out(
            f"① 日常讨论：过去 6 小时的 {len(posts)} 条帖子"
            f"（微博、小红书、抖音、知乎、新闻等），接收 {accepted} 条"
        )

        current = await api.incidents()
        before = _snapshot(current)
        wait = timeout
        if any(_is_crisis(incident, watchlist_id) and _is_open(incident) for incident in current):
            # Analysis raises no new signal while the tier stays where it is, so a replay
            # into an open crisis may change nothing visible: do not wait long for it.
            wait = min(timeout, REPLAY_WAIT_SECONDS)
            out("注意：先前演示的事件仍未关闭，这次的帖子会并入其中，不一定另开新事件。")
        spike = crisis(run_id, datetime.now(UTC))
        started = time.monotonic()
        progress(SPIKE_STAGE, 0, len(spike))
        spike_accepted = await api.ingest(spike, progress, SPIKE_STAGE)
        progress(SPIKE_STAGE, len(spike), len(spike))
        accepted += spike_accepted
        media = next(post for post in spike if post["author"]["handle"] == MEDIA_HANDLE)
        out(
            "② 危机爆发：宝妈投诉奶粉检出异物、宝宝就医 → "
            f"@{MEDIA_HANDLE}（{media['author']['followers'] / 10_000:.0f} 万粉丝）报道 → "
            f"一分钟内 {len(spike)} 条帖子，转发与负面评论刷屏，接收 {spike_accepted} 条"
        )
        out(f"③ 等待系统识别（最多 {wait:g} 秒）……")
        incident, seconds = await _wait_for_incident(
            api, watchlist_id, before, started, wait, progress
        )
        progress(WAIT_STAGE, int(wait), int(wait))

    if incident is None:
        out(
            f"✘ {wait:g} 秒内没有出现橙色或红色事件：请确认 analysis 和 incidents "
            "两个 worker 正在运行。"
        )
    else:
        for line in _describe(incident, seconds, gateway_url):
            out(line)
    return DemoResult(
        watchlist_id=watchlist_id,
        mentions_sent=len(posts) + len(spike),
        accepted=accepted,
        incident=incident,
        seconds_to_incident=seconds,
    )
