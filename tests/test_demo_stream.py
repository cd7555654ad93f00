"""The demo's stream: ingest-shaped posts, a quiet baseline, then a crisis that reads like one."""

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from crisiswatch.demo_stream import (
    BRAND,
    BRAND_KEYWORDS,
    MEDIA_HANDLE,
    Post,
    chatter,
    crisis,
)
from libs.contracts.enums import AuthorKind, Source

NOW = datetime(2026, 11, 21, 6, 30, tzinfo=UTC)
RUN = "demo-5f3a9c01"

_POST_KEYS = {"source", "external_id", "text", "url", "posted_at", "author", "metrics", "repost_of"}
_AUTHOR_KEYS = {"handle", "followers", "verified", "kind"}
_METRIC_KEYS = {"reposts", "comments", "likes", "views"}
_CJK = re.compile(r"[\u4e00-\u9fff]")
# Words that make a post read as a complaint or an alarm, not as praise or a question.
_NEGATIVE = (
    "投诉", "维权", "异物", "退款", "召回", "曝光", "避雷", "踩雷", "恶心", "黑心", "3·15",
    "消协", "12315", "呕吐", "腹泻", "变质", "骗", "气死", "离谱", "拉黑", "赔偿", "吓人",
    "害怕", "不敢", "心慌", "交代", "说法", "道歉", "彻查", "监管", "寒心", "糊弄", "装死",
    "推诿", "敷衍", "上吐下泻", "焦虑", "怕", "停了", "别喝", "别再喂", "不会再买", "封存",
    "甩锅", "撤了", "心虚", "踢皮球", "老鼠屎", "底线", "难受", "十倍", "暂停食用", "折腾",
)  # fmt: skip


def problems_of(post: Any) -> list[str]:
    """Return what keeps `post` from being one item of an ingest batch; empty when it fits."""
    if not isinstance(post, dict):
        return ["not an object"]
    problems = []
    if set(post) != _POST_KEYS:
        problems.append(f"keys {sorted(set(post) ^ _POST_KEYS)}")
        return problems
    if post["source"] not in {source.value for source in Source}:
        problems.append(f"source {post['source']!r}")
    external_id = post["external_id"]
    if not isinstance(external_id, str) or not 0 < len(external_id) <= 200:
        problems.append("external_id")
    if not isinstance(post["text"], str) or not post["text"].strip():
        problems.append("text")
    url = post["url"]
    if url is not None:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme != "https" or not parts.netloc or not url.isascii():
            problems.append(f"url {url!r}")
    try:
        posted_at = datetime.fromisoformat(post["posted_at"])
        if posted_at.utcoffset() is None:
            problems.append("posted_at has no offset")
    except (TypeError, ValueError):
        problems.append(f"posted_at {post['posted_at']!r}")
    author = post["author"]
    if not isinstance(author, dict) or set(author) != _AUTHOR_KEYS:
        problems.append("author keys")
    else:
        if not isinstance(author["handle"], str) or not 0 < len(author["handle"]) <= 200:
            problems.append("author.handle")
        if type(author["followers"]) is not int or author["followers"] < 0:
            problems.append("author.followers")
        if type(author["verified"]) is not bool:
            problems.append("author.verified")
        if author["kind"] not in {kind.value for kind in AuthorKind}:
            problems.append(f"author.kind {author['kind']!r}")
    metrics = post["metrics"]
    if not isinstance(metrics, dict) or set(metrics) != _METRIC_KEYS:
        problems.append("metrics keys")
    elif any(type(value) is not int or value < 0 for value in metrics.values()):
        problems.append(f"metrics {metrics}")
    if post["repost_of"] is not None and not isinstance(post["repost_of"], str):
        problems.append("repost_of")
    return problems


def posted(post: Post) -> datetime:
    return datetime.fromisoformat(post["posted_at"])


def is_negative(post: Post) -> bool:
    return any(word in post["text"] for word in _NEGATIVE)


@pytest.fixture(scope="module")
def quiet() -> list[Post]:
    return chatter(RUN, NOW)


@pytest.fixture(scope="module")
def storm() -> list[Post]:
    return crisis(RUN, NOW)


def test_every_post_fits_the_ingest_api(quiet: list[Post], storm: list[Post]) -> None:
    problems = {post["external_id"]: problems_of(post) for post in quiet + storm}
    assert {external_id: found for external_id, found in problems.items() if found} == {}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda post: post.update(source="tieba"), "source"),
        (lambda post: post.update(posted_at="2026-11-21T08:00:00"), "posted_at"),
        (lambda post: post["author"].update(kind="brand"), "author.kind"),
        (lambda post: post["metrics"].update(likes=-1), "metrics"),
        (lambda post: post.update(url="weibo.com/123"), "url"),
        (lambda post: post.pop("repost_of"), "keys"),
    ],
)
def test_the_shape_check_catches_a_broken_post(change: Any, problem: str) -> None:
    post = chatter(RUN, NOW)[0]
    change(post)
    assert any(found.startswith(problem) for found in problems_of(post))


def test_external_ids_are_unique_and_carry_the_run_id(quiet: list[Post], storm: list[Post]) -> None:
    ids = [post["external_id"] for post in quiet + storm]
    assert len(ids) == len(set(ids))
    assert all(external_id.startswith(f"{RUN}-") for external_id in ids)


def test_a_second_run_sends_new_ids_and_new_wording(quiet: list[Post], storm: list[Post]) -> None:
    other = chatter("demo-0b7e21d4", NOW) + crisis("demo-0b7e21d4", NOW)
    first = quiet + storm
    assert not {post["external_id"] for post in first} & {post["external_id"] for post in other}
    same = sum(a["text"] == b["text"] for a, b in zip(first, other, strict=True))
    assert same <= len(first) * 0.2


def test_the_stream_depends_only_on_run_and_clock(quiet: list[Post], storm: list[Post]) -> None:
    assert chatter(RUN, NOW) == quiet
    assert crisis(RUN, NOW) == storm


def test_a_naive_clock_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        chatter(RUN, datetime(2026, 11, 21, 6, 30))


def test_no_two_posts_of_a_run_have_the_same_text(quiet: list[Post], storm: list[Post]) -> None:
    texts = Counter(post["text"] for post in quiet + storm)
    assert [text for text, count in texts.items() if count > 1] == []


def test_texts_are_chinese(quiet: list[Post], storm: list[Post]) -> None:
    for post in quiet + storm:
        text = post["text"]
        chinese = len(_CJK.findall(text))
        alphanumeric = sum(char.isalnum() for char in text)
        assert chinese >= 12 and chinese / alphanumeric >= 0.6, text


def test_chatter_spreads_over_the_previous_six_hours(quiet: list[Post]) -> None:
    times = sorted(posted(post) for post in quiet)
    assert len(quiet) >= 35
    assert NOW - timedelta(hours=6, minutes=10) <= times[0]
    assert times[-1] <= NOW - timedelta(minutes=5)
    assert times[-1] - times[0] >= timedelta(hours=5)
    posts_per_hour = Counter(int((NOW - time).total_seconds() // 3600) for time in times)
    assert len(posts_per_hour) == 6 and max(posts_per_hour.values()) <= len(quiet) / 3


def test_chatter_is_mostly_not_negative(quiet: list[Post]) -> None:
    negative = [post["text"] for post in quiet if is_negative(post)]
    assert len(negative) <= len(quiet) * 0.15, negative


def test_chatter_talks_about_the_brand_on_every_kind_of_platform(quiet: list[Post]) -> None:
    assert all(any(word in post["text"] for word in BRAND_KEYWORDS) for post in quiet)
    assert {"weibo", "xiaohongshu", "douyin", "zhihu", "news"} <= {post["source"] for post in quiet}
    assert sum(post["author"]["kind"] == "kol" for post in quiet) >= 2
    assert sum("？" in post["text"] or "吗" in post["text"] for post in quiet) >= 5


def test_the_crisis_happens_in_the_last_two_minutes(storm: list[Post]) -> None:
    assert len(storm) >= 50
    assert all(NOW - timedelta(minutes=2) <= posted(post) <= NOW for post in storm)
    last_minute = [post for post in storm if posted(post) >= NOW - timedelta(minutes=1)]
    assert len(last_minute) >= 50


def test_the_crisis_is_a_wave_of_negative_posts_about_the_brand(storm: list[Post]) -> None:
    quiet_posts = [post["text"] for post in storm if not is_negative(post)]
    assert len(quiet_posts) <= len(storm) * 0.1, quiet_posts
    about_brand = [post for post in storm if any(word in post["text"] for word in BRAND_KEYWORDS)]
    assert len(about_brand) >= len(storm) * 0.9


def test_a_parent_complains_before_the_media_picks_it_up(storm: list[Post]) -> None:
    first = storm[0]
    assert first["author"]["kind"] == "user" and first["repost_of"] is None
    assert "异物" in first["text"] and "维权" in first["text"]
    media = [post for post in storm if post["author"]["handle"] == MEDIA_HANDLE]
    assert len(media) == 1
    assert media[0]["author"] == {
        "handle": MEDIA_HANDLE,
        "followers": media[0]["author"]["followers"],
        "verified": True,
        "kind": "media",
    }
    assert media[0]["author"]["followers"] >= 1_000_000
    assert media[0]["text"].startswith("【") and BRAND[:2] in media[0]["text"]
    assert posted(first) < posted(media[0])


def test_kols_join_the_crisis(storm: list[Post]) -> None:
    assert sum(post["author"]["kind"] == "kol" for post in storm) >= 2


def test_reposts_point_to_earlier_posts_of_the_same_run(storm: list[Post]) -> None:
    by_id = {post["external_id"]: post for post in storm}
    reposts = [post for post in storm if post["repost_of"] is not None]
    assert len(reposts) >= 30
    for post in reposts:
        original = by_id[post["repost_of"]]
        assert posted(original) <= posted(post)
        assert original["author"]["handle"] == MEDIA_HANDLE


def test_repost_chains_quote_what_was_passed_on(storm: list[Post]) -> None:
    texts_by_author: dict[str, set[str]] = {}
    for post in storm:
        texts_by_author.setdefault(post["author"]["handle"], set()).add(post["text"])
    chains = [post for post in storm if "//@" in post["text"]]
    assert len(chains) >= 5
    for post in chains:
        assert post["source"] == "weibo"
        handle, quoted = post["text"].split("//@", 1)[1].split(":", 1)
        assert quoted in texts_by_author[handle]


def test_the_crisis_names_one_batch_number_throughout(storm: list[Post]) -> None:
    batches = {match for post in storm for match in re.findall(r"HL\d{8}[A-C]\d", post["text"])}
    assert len(batches) == 1
