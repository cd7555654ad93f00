"""Scripted streams for `detection_eval.py`: crises and non-crises of fictional brands.

Written for the detection benchmark and used nowhere else (not in training, not in tests),
so the figures say how detection behaves on streams it was not tuned on. Each stream is a
brand with its keywords, an optional history that arrives as a backfill, and live phases
played window by window. A phase mixes voices (ordinary chatter, praise in current slang,
mild complaints, safety complaints, a media report, rumour talk, …) at a rate per 15
minutes; a rhythm multiplies the rate by the hour of day in Beijing time.

Pure: the same stream and start time always give the same posts.
"""

import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

BEIJING = timezone(timedelta(hours=8))
WINDOW = timedelta(minutes=15)
_SLOT = re.compile(r"\{(\w+)\}")

Post = dict[str, Any]

VOICES_FILE = Path(__file__).resolve().parent / "data" / "detection_voices.json"


@dataclass(frozen=True)
class Voice:
    """A way people post about the brand: its templates and who posts them."""

    templates: tuple[str, ...]
    kind: str
    followers: tuple[int, int]
    verified: bool
    sources: tuple[str, ...]
    reach: tuple[int, int]


def _load() -> tuple[dict[str, tuple[str, ...]], dict[str, Voice]]:
    """The fillers every voice shares, and the voices, from `data/detection_voices.json`.

    The posts are content, kept as data like the demo's (`crisiswatch/demo_posts.json`): a
    stream keeps its brand and product (`{b}`, `{p}`), the other slots draw from the pools.
    """
    data: dict[str, Any] = json.loads(VOICES_FILE.read_text(encoding="utf-8"))
    pools = {name: tuple(values) for name, values in data["pools"].items()}
    voices = {
        name: Voice(
            templates=tuple(voice["templates"]),
            kind=voice["kind"],
            followers=(voice["followers"][0], voice["followers"][1]),
            verified=voice["verified"],
            sources=tuple(voice["sources"]),
            reach=(voice["reach"][0], voice["reach"][1]),
        )
        for name, voice in data["voices"].items()
    }
    return pools, voices


POOLS, VOICES = _load()


@dataclass(frozen=True)
class Phase:
    """Posts for `minutes`: `per_window` per 15 minutes, drawn from voices by weight."""

    minutes: int
    per_window: float
    mix: dict[str, float]
    # Posts of these voices open the phase, one each, before the rest.
    openers: tuple[str, ...] = ()
    # The phase where the crisis starts (or, for a quiet stream, where it is tested).
    event: bool = False


@dataclass(frozen=True)
class Stream:
    """One scripted kind: what it is, the brand, its history and live phases, what to expect."""

    kind: str
    about: str
    brand: str
    product: str
    keywords: tuple[str, ...]
    live: tuple[Phase, ...]
    history: tuple[Phase, ...] = ()
    expect_incident: bool = False
    expect_type: str | None = None
    rhythm: bool = False
    slots: dict[str, str] = field(default_factory=dict)


def _chatter(per_window: float, minutes: int, mild: float = 0.2, **extra: Any) -> Phase:
    """Ordinary chatter: questions and purchases, some praise, a share of mild complaints."""
    return Phase(minutes, per_window, {"chatter": 0.8 - mild, "praise": 0.2, "mild": mild}, **extra)


STREAMS: tuple[Stream, ...] = (
    Stream(
        kind="real_crisis",
        about="food-safety wave: complaints, then a news report, then a flood",
        brand="澄禾食品",
        product="燕麦脆",
        keywords=("澄禾", "澄禾食品", "燕麦脆"),
        history=(_chatter(8, 24 * 60),),
        live=(
            _chatter(8, 60),
            Phase(30, 30, {"safety": 0.7, "chatter": 0.3}, event=True),
            Phase(45, 90, {"safety": 0.8, "chatter": 0.2}, openers=("safety_media",)),
        ),
        expect_incident=True,
        expect_type="product_quality",
    ),
    Stream(
        kind="slow_burn",
        about="banking complaints building over six hours",
        brand="汇川银行",
        product="信用卡",
        keywords=("汇川银行", "汇川"),
        history=(_chatter(6, 24 * 60, mild=0.15),),
        live=(
            _chatter(6, 30),
            Phase(120, 10, {"bank": 0.5, "chatter": 0.5}, event=True),
            Phase(120, 18, {"bank": 0.7, "chatter": 0.3}),
            Phase(120, 30, {"bank": 0.85, "chatter": 0.15}),
        ),
        expect_incident=True,
        expect_type=None,  # fees, failed logins, collection calls: several kinds at once
    ),
    Stream(
        kind="media_expose",
        about="one heavyweight investigative report, then reactions",
        brand="鲜丰乳品",
        product="酸奶",
        keywords=("鲜丰", "鲜丰乳品"),
        history=(_chatter(5, 24 * 60),),
        live=(
            _chatter(5, 45),
            Phase(
                60, 25, {"expose_reaction": 0.75, "chatter": 0.25}, openers=("expose",), event=True
            ),
        ),
        expect_incident=True,
        expect_type="product_quality",
    ),
    Stream(
        kind="viral_praise",
        about="a product collaboration going viral: ~220 posts in 15 minutes, ~92 % praise",
        brand="栖木茶饮",
        product="联名杯",
        keywords=("栖木", "栖木茶饮"),
        history=(_chatter(4, 24 * 60),),
        live=(
            _chatter(4, 30),
            Phase(
                45,
                220,
                {"slang_praise": 0.92, "viral_gripe": 0.05, "chatter": 0.03},
                event=True,
            ),
            _chatter(20, 30),
        ),
        slots={"collab": "星河动画"},
    ),
    Stream(
        kind="new_watchlist",
        about="a new watchlist with three hours of history at ~10 posts per 15 minutes",
        brand="朗途出行",
        product="网约车",
        keywords=("朗途", "朗途出行"),
        history=(_chatter(10, 3 * 60),),
        live=(_chatter(10, 60, event=True),),
    ),
    Stream(
        kind="new_crisis",
        about="a crisis in the first hour of a new watchlist (no history at all)",
        brand="禾谷烘焙",
        product="吐司",
        keywords=("禾谷", "禾谷烘焙"),
        live=(
            _chatter(6, 20),
            Phase(40, 60, {"safety": 0.75, "chatter": 0.25}, openers=("safety_media",), event=True),
        ),
        expect_incident=True,
        expect_type="product_quality",
    ),
    Stream(
        kind="day_night_week",
        about="a week of day/night rhythm, then an ordinary morning ramp-up",
        brand="云栈咖啡",
        product="拿铁",
        keywords=("云栈", "云栈咖啡"),
        history=(_chatter(12, 7 * 24 * 60),),
        live=(_chatter(12, 4 * 60, event=True),),
        rhythm=True,
    ),
    Stream(
        kind="rumour",
        about="网传/听说/是真的吗 about a carcinogen, with a few debunks",
        brand="麦旭粮油",
        product="菜籽油",
        keywords=("麦旭", "麦旭粮油"),
        history=(_chatter(5, 24 * 60),),
        live=(
            _chatter(5, 30),
            Phase(60, 50, {"rumour": 0.75, "debunk": 0.1, "chatter": 0.15}, event=True),
        ),
        expect_incident=True,
        expect_type="misinformation",
    ),
    Stream(
        kind="data_leak",
        about="users report a leak of their data, then the regulator is in the news",
        brand="星链优选",
        product="会员",
        keywords=("星链优选", "星链"),
        history=(_chatter(6, 24 * 60),),
        live=(
            _chatter(6, 30),
            Phase(30, 25, {"leak": 0.8, "chatter": 0.2}, event=True),
            Phase(30, 60, {"leak": 0.85, "chatter": 0.15}, openers=("leak_media",)),
        ),
        expect_incident=True,
        expect_type="data_leak",
    ),
    Stream(
        kind="traditional",
        about="a food-safety crisis written in traditional characters",
        brand="福滿堂",
        product="月餅",
        keywords=("福滿堂", "福满堂"),
        history=(Phase(24 * 60, 5, {"trad_chatter": 1.0}),),
        live=(
            Phase(30, 5, {"trad_chatter": 1.0}),
            Phase(
                45,
                60,
                {"trad_crisis": 0.8, "trad_chatter": 0.2},
                openers=("trad_media",),
                event=True,
            ),
        ),
        expect_incident=True,
        expect_type="product_quality",
        slots={"tb": "福滿堂", "tp": "月餅", "tstore": "百貨公司"},
    ),
    Stream(
        kind="calm_mild",
        about="a calm day with a steady share of mild complaints",
        brand="青禾家居",
        product="床垫",
        keywords=("青禾家居", "青禾"),
        history=(_chatter(6, 24 * 60, mild=0.25),),
        live=(_chatter(6, 3 * 60, mild=0.3, event=True),),
    ),
)

_HOURLY = (
    0.15,
    0.1,
    0.06,
    0.05,
    0.05,
    0.08,
    0.2,
    0.5,
    0.9,
    1.1,
    1.2,
    1.3,
    1.4,
    1.2,
    1.1,
    1.1,
    1.2,
    1.3,
    1.5,
    1.7,
    1.8,
    1.6,
    1.0,
    0.4,
)


def rate_factor(stream: Stream, at: datetime) -> float:
    """How much busier than its base rate the stream is at `at` (1 without a rhythm)."""
    return _HOURLY[at.astimezone(BEIJING).hour] if stream.rhythm else 1.0


def _fill(template: str, stream: Stream, rng: random.Random) -> str:
    values = {"b": stream.brand, "p": stream.product, **stream.slots}

    def slot(match: re.Match[str]) -> str:
        name = match.group(1)
        return values[name] if name in values else rng.choice(POOLS[name])

    return _SLOT.sub(slot, template)


def _post(stream: Stream, voice_name: str, at: datetime, rng: random.Random, serial: int) -> Post:
    voice = VOICES[voice_name]
    low, high = voice.followers
    followers = round(low * (high / low) ** rng.random())
    reach_low, reach_high = voice.reach
    views = round(reach_low * (reach_high / reach_low) ** rng.random())
    handle = (
        f"{voice_name}-{rng.randrange(10**6):06d}" if voice.kind == "user" else f"{voice_name}台"
    )
    return {
        "source": rng.choice(voice.sources),
        "external_id": f"{stream.kind}-{serial:07d}",
        "text": _fill(rng.choice(voice.templates), stream, rng),
        "url": None,
        "posted_at": at.isoformat(),
        "author": {
            "handle": handle,
            "followers": followers,
            "verified": voice.verified,
            "kind": voice.kind,
        },
        "metrics": {
            "reposts": views // 200,
            "comments": views // 400,
            "likes": views // 50,
            "views": views,
        },
        "repost_of": None,
    }


def _phase_posts(
    stream: Stream, phase: Phase, start: datetime, rng: random.Random, serial: Callable[[], int]
) -> Iterator[Post]:
    """Posts of one phase from `start`, spread at random within each minute."""
    for name in phase.openers:
        yield _post(stream, name, start, rng, serial())
    voices, weights = zip(*phase.mix.items(), strict=True)
    carry = 0.0
    for minute in range(phase.minutes):
        at = start + timedelta(minutes=minute)
        carry += phase.per_window / 15 * rate_factor(stream, at)
        count, carry = int(carry), carry - int(carry)
        for _ in range(count):
            moment = at + timedelta(seconds=rng.uniform(0, 59))
            yield _post(stream, rng.choices(voices, weights)[0], moment, rng, serial())


@dataclass(frozen=True)
class Script:
    """A stream laid out in time: the backfill, the live posts, when the event starts."""

    history: list[Post]
    live: list[Post]
    live_start: datetime
    event_start: datetime
    end: datetime


def script(stream: Stream, live_start: datetime) -> Script:
    """Lay `stream` out so its live part starts at `live_start` and its history ends there."""
    rng = random.Random(f"detection:{stream.kind}")
    counter = iter(range(10**7))

    def serial() -> int:
        return next(counter)

    history: list[Post] = []
    at = live_start - timedelta(minutes=sum(p.minutes for p in stream.history))
    for phase in stream.history:
        history.extend(_phase_posts(stream, phase, at, rng, serial))
        at += timedelta(minutes=phase.minutes)
    live: list[Post] = []
    at, event_start = live_start, live_start
    for phase in stream.live:
        if phase.event:
            event_start = at
        live.extend(_phase_posts(stream, phase, at, rng, serial))
        at += timedelta(minutes=phase.minutes)
    live.sort(key=lambda post: str(post["posted_at"]))
    return Script(history, live, live_start, event_start, at)
