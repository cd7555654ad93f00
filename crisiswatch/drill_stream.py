"""The posts a drill plays: a scripted crisis laid out in stream time, or a past incident's.

Pure: the same drill and start give the same posts. Every post names its drill
(`drill_id`), so it reaches only the drill's own watchlist, and its external id starts with
the drill's, so it never collides with a real post (ingest dedups on source and external id).

- product safety is the demo's crisis (`demo_stream`): six hours of ordinary talk, then a
  parent's complaint, a news report and the wave of reposts, then a decay as the statement
  lands.
- data leak and rumour are laid out in phases as the detection benchmark's streams of the
  same names are (`bench/detection_streams.py`), with the same voices
  (`drill_voices.json`, copied from `bench/data/detection_voices.json`).

A script is `history` (posts before the drill starts, sent at once as a backfill) and `live`
(posts at their offset in stream seconds from the start, which the player paces by speed).
"""

import json
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from importlib.resources import files
from typing import Any

from crisiswatch.demo_stream import Post, chatter, crisis
from libs.contracts.drills import SCENARIOS
from libs.contracts.enums import DrillScenario

_SLOT = re.compile(r"\{(\w+)\}")
HISTORY_HOURS = 6


@dataclass(frozen=True)
class Phase:
    """Posts for `minutes`: `per_quarter` per 15 minutes, drawn from voices by weight."""

    minutes: int
    per_quarter: float
    mix: dict[str, float]
    openers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Script:
    """A drill laid out in stream time: the backfill and the live posts with their offsets."""

    history: list[Post]
    live: list[tuple[float, Post]]

    @property
    def stream_seconds(self) -> float:
        """Return how long the live part lasts in stream time."""
        return self.live[-1][0] if self.live else 0.0


_CHATTER = {"chatter": 0.6, "praise": 0.2, "mild": 0.2}
PHASES: dict[DrillScenario, tuple[Phase, ...]] = {
    DrillScenario.DATA_LEAK: (
        Phase(30, 6, _CHATTER),
        Phase(30, 25, {"leak": 0.8, "chatter": 0.2}),
        Phase(30, 60, {"leak": 0.85, "chatter": 0.15}, openers=("leak_media",)),
        Phase(120, 20, {"leak": 0.5, "chatter": 0.5}),
        Phase(120, 6, _CHATTER),
    ),
    DrillScenario.RUMOUR: (
        Phase(30, 5, _CHATTER),
        Phase(60, 50, {"rumour": 0.75, "debunk": 0.1, "chatter": 0.15}),
        Phase(120, 15, {"rumour": 0.3, "debunk": 0.4, "chatter": 0.3}),
        Phase(120, 5, _CHATTER),
    ),
}
"""The live phases of the phased scenarios: calm, the wave, its peak, the decay, calm again."""

_AFTERMATH = (Phase(240, 12, {"chatter": 0.5, "mild": 0.5}), Phase(180, 5, _CHATTER))
"""Product safety's hours after the wave: talk that goes on, then calm again."""


@lru_cache(maxsize=1)
def _voices() -> dict[str, Any]:
    text = files("crisiswatch").joinpath("drill_voices.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _drill_id_of(drill_id: str, number: int) -> str:
    # The whole drill id: two drills must never share an external id, or ingest would take
    # the second drill's posts for repeats of the first's.
    return f"drill-{drill_id}-{number:05d}"


def _marked_all(posts: list[Post], drill_id: str, start: int = 0) -> list[Post]:
    """Give each post the drill's own external id, and point reposts at the new ids.

    A repost names its parent by external id: kept as it was, it would point at a post the
    drill never sends (or at the real one a replay copied, joining the drill to its story).
    A parent outside the posts played is dropped, so the repost stands on its own.
    """
    renamed = {
        str(post["external_id"]): _drill_id_of(drill_id, start + n)
        for n, post in enumerate(posts)
        if post.get("external_id")
    }
    marked = []
    for n, post in enumerate(posts):
        parent = post.get("repost_of")
        marked.append(
            post
            | {
                "external_id": _drill_id_of(drill_id, start + n),
                "drill_id": drill_id,
                "repost_of": renamed.get(str(parent)) if parent else None,
            }
        )
    return marked


def _voice_post(scenario: DrillScenario, voice_name: str, at: datetime, rng: random.Random) -> Post:
    data = _voices()
    voice = data["voices"][voice_name]
    about = SCENARIOS[scenario]
    values = {"b": about.brand, "p": about.product}

    def slot(match: re.Match[str]) -> str:
        name = match.group(1)
        return values[name] if name in values else str(rng.choice(data["pools"][name]))

    low, high = voice["followers"]
    followers = round(low * (high / low) ** rng.random())
    reach_low, reach_high = voice["reach"]
    views = round(reach_low * (reach_high / reach_low) ** rng.random())
    media = voice["kind"] != "user"
    return {
        "source": rng.choice(voice["sources"]),
        "external_id": "",
        "text": _SLOT.sub(slot, rng.choice(voice["templates"])),
        "url": None,
        "posted_at": at.isoformat(),
        "author": {
            "handle": f"{voice_name}台" if media else f"{voice_name}-{rng.randrange(10**6):06d}",
            "followers": followers,
            "verified": voice["verified"],
            "kind": voice["kind"],
        },
        "metrics": {
            "reposts": views // 200,
            "comments": views // 400,
            "likes": views // 50,
            "views": views,
        },
        "repost_of": None,
    }


def _phased(
    scenario: DrillScenario, phases: tuple[Phase, ...], start: datetime, rng: random.Random
) -> list[tuple[float, Post]]:
    """Lay phases out from `start`: each minute's posts spread at random within it."""
    posts: list[tuple[float, Post]] = []
    offset = 0.0
    for phase in phases:
        for name in phase.openers:
            posts.append(
                (offset, _voice_post(scenario, name, start + timedelta(seconds=offset), rng))
            )
        carry = 0.0
        for minute in range(phase.minutes):
            carry += phase.per_quarter / 15
            count, carry = int(carry), carry - int(carry)
            for _ in range(count):
                at = offset + minute * 60 + rng.uniform(0, 59)
                posts.append(
                    (
                        at,
                        _voice_post(
                            scenario,
                            rng.choices(*zip(*phase.mix.items(), strict=True))[0],
                            start + timedelta(seconds=at),
                            rng,
                        ),
                    )
                )
        offset += phase.minutes * 60
    posts.sort(key=lambda item: item[0])
    return posts


def script(scenario: DrillScenario, drill_id: str, start: datetime) -> Script:
    """Return the posts of a scripted scenario for the drill `drill_id`, live from `start`."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    prefix = f"drill-{drill_id[:8]}"
    rng = random.Random(f"drill:{scenario.value}:{drill_id}")
    if scenario is DrillScenario.PRODUCT_SAFETY:
        history = chatter(prefix, start)
        wave = crisis(prefix, start)
        first = datetime.fromisoformat(str(wave[0]["posted_at"]))
        live = [
            ((datetime.fromisoformat(str(p["posted_at"])) - first).total_seconds(), p) for p in wave
        ]
        after = live[-1][0] + 60
        live += [(after + at, p) for at, p in _phased(scenario, _AFTERMATH, start, rng)]
    elif scenario in PHASES:
        history = [
            p
            for _, p in _phased(
                scenario,
                (Phase(HISTORY_HOURS * 60, 5, _CHATTER),),
                start - timedelta(hours=HISTORY_HOURS),
                rng,
            )
        ]
        live = _phased(scenario, PHASES[scenario], start, rng)
    else:
        raise ValueError(f"{scenario.value} is not a scripted scenario")
    marked = _marked_all(history + [p for _, p in live], drill_id)
    return Script(
        history=marked[: len(history)],
        live=[(at, p) for (at, _), p in zip(live, marked[len(history) :], strict=True)],
    )


def replay(mentions: list[Post], drill_id: str) -> Script:
    """Return a past incident's mentions as a drill's: new external ids, times from `start`.

    `mentions` are ingest payloads in posting order; the first one's time is the start, and
    each keeps its distance from it, so the replay has the shape of the original. The ids
    are new (the drill's), so the copies are new mentions, never the originals again.
    """
    if not mentions:
        return Script(history=[], live=[])
    first = datetime.fromisoformat(str(mentions[0]["posted_at"]))
    live = [
        ((datetime.fromisoformat(str(m["posted_at"])) - first).total_seconds(), m) for m in mentions
    ]
    marked = _marked_all([p for _, p in live], drill_id)
    return Script(history=[], live=[(at, p) for (at, _), p in zip(live, marked, strict=True)])


def stamped(post: Post, at: datetime) -> Post:
    """Return `post` as sent at `at`: its posting time is when the player sends it."""
    return post | {"posted_at": at.isoformat()}
