"""The demo's social-media stream for a fictional infant-formula brand, as ingest payloads.

Pure: the same run id and clock always give the same posts, so the stream is testable
without servers. The texts live in `demo_posts.json`; their slots (`{batch}`, `{mad}`…) are
filled from a generator seeded by the run id. One run stays consistent (one batch number,
one city, one shop) while a second run's posts differ from the first's, so a replay reads
as new posts rather than copies of old ones.
"""

import base64
import hashlib
import json
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from importlib.resources import files
from typing import Any

BRAND = "禾岚乳业"
"""The fictional company the demo watches; also the watchlist's name."""

BRAND_KEYWORDS = ("禾岚", "禾岚乳业", "禾岚奶粉", "禾岚启护", "禾岚悠羊")
"""Brand and product names the demo's watchlist matches."""

MEDIA_HANDLE = "晨潮新闻"
"""The fictional news account whose report turns one complaint into a crisis."""

Post = dict[str, Any]

_BEIJING = timezone(timedelta(hours=8))
_SLOT = re.compile(r"\{(\w+)\}")
_CITIES = ("杭州", "南京", "合肥", "郑州", "长沙", "济南", "南昌", "福州", "石家庄")
_STORES = ("天猫旗舰店", "京东自营", "楼下母婴店", "拼多多百亿补贴", "抖音直播间")
_BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
# The first posts of the crisis (the parent's complaint, the report) carry explicit times;
# the reactions after them are spread evenly over this many seconds up to "now".
_REACTION_WINDOW_SECONDS = 48


@dataclass(frozen=True)
class _Author:
    handle: str
    source: str
    followers: int
    verified: bool
    kind: str
    site: str | None


@lru_cache(maxsize=1)
def _library() -> dict[str, Any]:
    text = files("crisiswatch").joinpath("demo_posts.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _authors() -> dict[str, _Author]:
    return {
        handle: _Author(
            handle=handle,
            source=entry["source"],
            followers=entry["followers"],
            verified=entry["verified"],
            kind=entry["kind"],
            site=entry.get("site"),
        )
        for handle, entry in _library()["authors"].items()
    }


def _run_values(run_id: str) -> dict[str, str]:
    """Return the facts a whole run agrees on, e.g. the batch number every post cites."""
    rng = random.Random(f"{run_id}:facts")
    batch = (
        f"HL2026{rng.randint(8, 10):02d}{rng.randint(1, 28):02d}"
        f"{rng.choice('ABC')}{rng.randint(1, 9)}"
    )
    values: dict[str, object] = {
        "batch": batch,
        "city": rng.choice(_CITIES),
        "months": rng.randint(6, 14),
        "store": rng.choice(_STORES),
        "price": rng.randint(258, 328),
        "complaints": rng.randint(23, 87),
        "n_cans": rng.randint(3, 8),
        "gift": rng.randint(3, 10),
        "growth": f"{rng.uniform(8, 18):.1f}",
        "sales_growth": rng.randint(20, 65),
        "prod_month": rng.randint(8, 10),
        "days": rng.randint(3, 9),
        "live": rng.choice(["今晚8点", "今晚7点半", "明早10点", "今天下午3点"]),
        "secs": rng.randint(8, 20),
        "points": rng.randint(1200, 3800),
        "months_self": rng.randint(8, 20),
        "invest": rng.choice([500, 800, 1000, 1200, 1500]),
        "ml": rng.choice([150, 160, 180, 200, 210]),
        "discount": rng.randint(8, 15),
        "wait": rng.randint(3, 12),
        "calls": rng.randint(3, 6),
        "sick_days": rng.randint(2, 5),
    }
    return {name: str(value) for name, value in values.items()}


def _fill(template: str, values: dict[str, str], rng: random.Random) -> str:
    """Fill run facts by name and draw emoji or sign-offs from their pools for every slot."""
    pools: dict[str, list[str]] = _library()["pools"]

    def slot(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        return rng.choice(pools[name])

    return _SLOT.sub(slot, template)


def _digits(seed: str, length: int) -> str:
    return str(int(hashlib.sha256(seed.encode()).hexdigest(), 16))[:length]


def _base62(seed: str, length: int) -> str:
    number = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    chars = []
    for _ in range(length):
        number, index = divmod(number, 62)
        chars.append(_BASE62[index])
    return "".join(chars)


def _url(author: _Author, external_id: str, posted_at: datetime) -> str | None:
    """Return a link shaped like the platform's own post links, derived from the post id."""
    match author.source:
        case "weibo":
            return f"https://weibo.com/{_digits(author.handle, 10)}/{_base62(external_id, 9)}"
        case "xiaohongshu":
            note = hashlib.sha256(external_id.encode()).hexdigest()[:24]
            return f"https://www.xiaohongshu.com/explore/{note}"
        case "douyin":
            return f"https://www.douyin.com/video/7{_digits(external_id, 18)}"
        case "zhihu":
            return (
                f"https://www.zhihu.com/question/{_digits('q' + external_id, 9)}"
                f"/answer/{_digits(external_id, 10)}"
            )
        case "wechat":
            token = base64.urlsafe_b64encode(hashlib.sha256(external_id.encode()).digest())
            return f"https://mp.weixin.qq.com/s/{token.decode()[:22]}"
        case "news" if author.site:
            return f"{author.site}/a/{posted_at:%Y%m%d}/{_digits(external_id, 8)}.html"
        case "forum":
            return f"https://bbs.mama.cn/thread-{_digits(external_id, 8)}-1-1.html"
        case "complaint":
            return f"https://tousu.sina.com.cn/complaint/view/17{_digits(external_id, 9)}/"
        case _:
            return None


def _metrics(author: _Author, heat: float, rng: random.Random, spreading: bool) -> dict[str, int]:
    """Return plausible engagement: views follow followers, reposts surge while a story spreads."""
    views = int((author.followers * rng.uniform(0.05, 0.3) + rng.randint(50, 800)) * heat)
    likes = int(views * rng.uniform(0.01, 0.04))
    comments = int(likes * rng.uniform(0.1, 0.4) * (2 if spreading else 1))
    reposts = int(likes * rng.uniform(0.2, 0.6) if spreading else likes * rng.uniform(0.02, 0.15))
    return {"reposts": reposts, "comments": comments, "likes": likes, "views": views}


def _post(
    author: _Author,
    external_id: str,
    text: str,
    posted_at: datetime,
    metrics: dict[str, int],
    repost_of: str | None,
) -> Post:
    local = posted_at.astimezone(_BEIJING)
    return {
        "source": author.source,
        "external_id": external_id,
        "text": text,
        "url": _url(author, external_id, local),
        "posted_at": local.isoformat(timespec="seconds"),
        "author": {
            "handle": author.handle,
            "followers": author.followers,
            "verified": author.verified,
            "kind": author.kind,
        },
        "metrics": metrics,
        "repost_of": repost_of,
    }


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")


def chatter(run_id: str, now: datetime) -> list[Post]:
    """Return the ordinary talk about the brand over the ~6 hours before `now`, oldest first."""
    _require_aware(now)
    authors = _authors()
    values = _run_values(run_id)
    rng = random.Random(f"{run_id}:chatter")
    posts = []
    for number, entry in enumerate(_library()["chatter"], start=1):
        author = authors[entry["author"]]
        # Jitter keeps the baseline from looking like a metronome while preserving the order.
        posted_at = now - timedelta(minutes=entry["minutes_ago"], seconds=rng.randint(0, 240))
        posts.append(
            _post(
                author,
                f"{run_id}-c{number:03d}",
                _fill(entry["text"], values, rng),
                posted_at,
                _metrics(author, entry.get("heat", 1.0), rng, spreading=False),
                None,
            )
        )
    return posts


def crisis(run_id: str, now: datetime) -> list[Post]:
    """Return the crisis: a parent's complaint, a news report, then a wave of angry reposts."""
    _require_aware(now)
    authors = _authors()
    values = _run_values(run_id)
    rng = random.Random(f"{run_id}:crisis")
    entries: list[dict[str, Any]] = _library()["crisis"]
    reactions = [entry for entry in entries if "seconds_ago" not in entry]
    step = _REACTION_WINDOW_SECONDS / max(len(reactions) - 1, 1)
    by_key: dict[str, Post] = {}
    posts: list[Post] = []
    reaction = 0
    for number, entry in enumerate(entries, start=1):
        author = authors[entry["author"]]
        if "seconds_ago" in entry:
            seconds_ago = float(entry["seconds_ago"])
        else:
            seconds_ago = _REACTION_WINDOW_SECONDS - reaction * step
            reaction += 1
        text = _fill(entry["text"], values, rng)
        if "via" in entry:
            # A Weibo repost of a repost quotes the chain: "my comment//@them:their comment".
            via = by_key[entry["via"]]
            text = f"{text}//@{via['author']['handle']}:{via['text']}"
        repost_of = by_key[entry["repost_of"]]["external_id"] if "repost_of" in entry else None
        post = _post(
            author,
            f"{run_id}-x{number:03d}",
            text,
            now - timedelta(seconds=seconds_ago),
            _metrics(author, entry.get("heat", 1.0), rng, spreading=True),
            repost_of,
        )
        if "key" in entry:
            by_key[entry["key"]] = post
        posts.append(post)
    return posts
