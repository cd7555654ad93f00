"""`crisiswatch status`: every process's liveness and readiness, as its probes answer them.

The addresses come from the running launcher's `runtime.json`, or, without one, from the
settings (`INGEST_PORT`, `GATEWAY_PORT`, and the worker ports `up` would give). Each worker's
readiness mark in Redis is shown beside its probe: the replica that last said it consumes.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from crisiswatch.launcher import WORKERS, worker_metrics_ports
from crisiswatch.runtime import read_runtime, resolved_urls
from libs.messaging import readiness
from libs.messaging.connection import connect
from libs.settings import Settings

PROBE_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Health:
    """What one process's probes answered."""

    name: str
    url: str
    live: bool
    ready: bool
    detail: str


def probe_urls(settings: Settings) -> dict[str, str]:
    """Return each process's base URL for its probes."""
    runtime = read_runtime(settings)
    if runtime is not None and runtime.probe_urls:
        return dict(runtime.probe_urls)
    host = settings.bind_host
    return {
        "ingest": f"http://{host}:{settings.ingest_port}",
        "gateway": f"http://{host}:{settings.gateway_port}",
        **{name: f"http://{host}:{port}" for name, port in worker_metrics_ports(settings).items()},
    }


async def _health(http: httpx.AsyncClient, name: str, url: str) -> Health:
    try:
        live = (await http.get(f"{url}/livez")).status_code == 200
        answer = await http.get(f"{url}/readyz")
    except httpx.HTTPError as exc:
        return Health(name, url, False, False, f"no answer ({type(exc).__name__})")
    try:
        checks = answer.json().get("checks", {})
    except ValueError:
        checks = {}
    down = [check for check, state in checks.items() if state != "ok"]
    detail = f"down: {', '.join(down)}" if down else ""
    return Health(name, url, live, answer.status_code == 200, detail)


async def _marks(settings: Settings) -> dict[str, str | None]:
    _, redis_url = resolved_urls(settings)
    try:
        redis = await connect(redis_url)
    except Exception:
        return {}
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            return await readiness.marks(redis, WORKERS)
    except Exception:
        return {}
    finally:
        await redis.aclose()


async def gather(settings: Settings) -> tuple[list[Health], dict[str, str | None]]:
    """Ask every process's probes, and read the workers' readiness marks."""
    urls = probe_urls(settings)
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_SECONDS) as http:
        found = await asyncio.gather(*(_health(http, name, url) for name, url in urls.items()))
    return list(found), await _marks(settings)


def report(settings: Settings, say: Callable[[str], None] = print) -> bool:
    """Print every process's health; return whether all are live and ready."""
    found, marks = asyncio.run(gather(settings))
    say(f"{'process':<10} {'live':<5} {'ready':<6} {'probes at':<24} detail")
    for health in found:
        detail = health.detail
        if health.name in marks:
            mark = marks[health.name]
            detail = " ".join(filter(None, [detail, f"mark: {mark or 'none'}"]))
        say(
            f"{health.name:<10} {_word(health.live):<5} {_word(health.ready):<6} "
            f"{health.url:<24} {detail}".rstrip()
        )
    return all(health.live and health.ready for health in found)


def _word(state: bool) -> str:
    return "yes" if state else "no"
