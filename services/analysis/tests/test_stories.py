"""Stories: stable signatures, near-duplicates grouped, first poster, amplifiers, repost tree."""

import hashlib
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.analysis.influence import KOL_THRESHOLD
from services.analysis.stories import (
    BANDS,
    NGRAM,
    NUM_PERM,
    ROWS,
    SIMILARITY_THRESHOLD,
    Member,
    MinHasher,
    Signature,
    amplifiers,
    band_keys,
    first_poster,
    repost_tree,
    same_story,
    signature,
)

# Analysis forms (simplified, links and emoji codes gone, repost handles removed, folded).
COMPLAINT = (
    "实在忍不住了发出来！！8个月的宝宝喝了天猫旗舰店买的禾岚启护3段，冲奶时发现罐里有好几块"
    "黑色硬块，还有一股酸味 宝宝已经喝了半罐，这两天一直吐、拉肚子，昨晚送去杭州儿童医院挂急诊，"
    "医生说是急性胃肠炎。罐子批号hl20260915a3，图片和病历都在下面。联系禾岚乳业 客服，只说让寄回"
    "去检测、给退一罐的钱，一句道歉都没有！当妈的心都碎了，求扩散，维权到底！禾岚奶粉异物 图1-6"
)
REPORT = (
    "【禾岚奶粉被指检出异物 宝妈：孩子喝后呕吐腹泻就医】近日，杭州一位网友发文称，在天猫旗舰店"
    "购买的禾岚启护3段婴幼儿配方奶粉中发现黑色块状异物并伴有酸味，其8个月大的孩子食用后出现呕吐、"
    "腹泻，经医院诊断为急性胃肠炎。该网友称，涉事产品批号为hl20260915a3，联系客服后仅被告知寄回检测。"
)
UNRELATED_SAME_BRAND = [
    "姐妹们！换了禾岚启护3段快一个月了，宝宝便便终于不干了 之前喝的某进口的一直上火，这款溶解"
    "也快，基本不结块。天猫旗舰店活动到手298一罐，还算可以～ 奶粉测评 母婴好物",
    "【投诉对象】禾岚乳业 【投诉问题】奶粉结块有异味 【投诉要求】退款并提供检测报告。上月在"
    "天猫旗舰店买的启护3段，开罐后结块严重有酸味，联系客服至今没有处理结果。",
    "紧急提醒｜禾岚启护3段批号hl20260915a3请暂停食用！已购买的家长请保留罐子、购买记录，出现"
    "呕吐腹泻请及时就医并保存病历。后续进展我们会持续更新。",
    "禾岚乳业三季度营收同比增长12.4%，婴幼儿配方奶粉业务占比超六成。公司表示，将继续加大奶源"
    "基地和配方研发投入，年内计划在宁夏新建一座有机牧场。",
]


def test_same_text_gives_the_same_bytes_and_band_keys() -> None:
    first, second = signature(COMPLAINT), signature(COMPLAINT)
    assert first is not None and second is not None
    assert first.to_bytes() == second.to_bytes()
    assert band_keys(first) == band_keys(second)
    assert len(first.values) == NUM_PERM


def test_signatures_do_not_depend_on_the_process_hash_seed() -> None:
    program = (
        "import sys\n"
        "from services.analysis.stories import signature, band_keys\n"
        "s = signature(sys.stdin.read())\n"
        "print(s.to_bytes().hex(), band_keys(s))\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", program],
            input=COMPLAINT,
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PYTHONIOENCODING": "utf-8"},
            cwd=Path(__file__).resolve().parents[3],
        ).stdout
        for seed in ("0", "1", "4242")
    }
    assert len(outputs) == 1
    sig = signature(COMPLAINT)
    assert sig is not None
    assert outputs.pop().split(" ", 1)[0] == sig.to_bytes().hex()


def _blake(label: str) -> int:
    return int.from_bytes(hashlib.blake2b(label.encode(), digest_size=8).digest(), "little")


def _splitmix(x: int) -> int:
    mask = 2**64 - 1
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & mask
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & mask
    return x ^ (x >> 31)


def reference_signature(text: str) -> tuple[int, ...]:
    """The documented algorithm in plain integers, one shingle and permutation at a time."""
    codes = [ord(char) for char in re.sub(r"[\W_]+", "", text)]
    hashes = []
    for start in range(len(codes) - NGRAM + 1):
        value = codes[start]
        for code in codes[start + 1 : start + NGRAM]:
            value = (value * 0x100000001B3 + code) % 2**64
        hashes.append(_splitmix(value))
    values = []
    for index in range(NUM_PERM):
        a = _blake(f"crisiswatch-minhash-a:{index}") | 1
        b = _blake(f"crisiswatch-minhash-b:{index}")
        values.append(min((a * x + b) % 2**64 for x in hashes) >> 32)
    return tuple(values)


def reference_band_keys(values: tuple[int, ...]) -> list[int]:
    params = f"{NGRAM}:{NUM_PERM}:{BANDS}"
    weights = [_blake(f"crisiswatch-lsh-row:{params}:{row}") | 1 for row in range(ROWS)]
    keys = []
    for band in range(BANDS):
        rows = values[band * ROWS : (band + 1) * ROWS]
        total = sum(value * weight for value, weight in zip(rows, weights, strict=True))
        mixed = _splitmix((total + _blake(f"crisiswatch-lsh-band:{params}:{band}")) % 2**64)
        keys.append(mixed - 2**64 if mixed >= 2**63 else mixed)
    return keys


@pytest.mark.parametrize("text", [COMPLAINT, REPORT, "禾岚启护3段批号hl20260915a3 请暂停"])
def test_signature_and_band_keys_follow_the_documented_algorithm(text: str) -> None:
    """Stored keys only find new posts while the hashing stays exactly this algorithm."""
    sig = signature(text)
    assert sig is not None
    assert sig.values == reference_signature(text)
    keys = band_keys(sig)
    assert len(keys) == 40 == BANDS
    assert keys == reference_band_keys(sig.values)


def test_band_index_is_mixed_in_so_equal_bands_give_different_keys() -> None:
    uniform = Signature((12345,) * NUM_PERM)
    keys = band_keys(uniform)
    assert len(set(keys)) == BANDS


def test_parameters_are_mixed_into_band_keys() -> None:
    other = MinHasher(bands=BANDS * 1, ngram=2)
    uniform = Signature((12345,) * NUM_PERM)
    assert set(other.band_keys(uniform)).isdisjoint(band_keys(uniform))


def test_bytes_round_trip() -> None:
    sig = signature(REPORT)
    assert sig is not None
    data = sig.to_bytes()
    assert len(data) == 4 * NUM_PERM
    assert Signature.from_bytes(data) == sig
    with pytest.raises(ValueError, match="whole uint32"):
        Signature.from_bytes(data[:-1])


def test_too_short_texts_have_no_signature() -> None:
    assert signature("转发微博") is None
    assert signature("太吓人了！！！😱😱") is None
    assert signature("") is None
    assert signature("禾岚启护3段批号hl20260915a3") is not None


def test_punctuation_emoji_and_spacing_do_not_change_the_signature() -> None:
    noisy = COMPLAINT.replace("，", " ").replace("！", "!!😡 ").replace("。", "…")
    assert signature(noisy) == signature(COMPLAINT)


@pytest.mark.parametrize(
    "variant",
    [
        "太可怕了，求扩散 " + COMPLAINT,  # a repost with a comment in front
        "已转 关注 " + COMPLAINT[:240] + "…全文",  # a repost of a truncated copy
        COMPLAINT[: int(len(COMPLAINT) * 0.75)] + "…全文",  # truncated by the feed
        COMPLAINT.replace("急性胃肠炎", "肠胃炎")
        .replace("寄回去检测", "寄回检测")
        .replace("维权到底", "必须维权"),  # a few words changed
        "先别喝了 " + REPORT,  # the report reposted is its own story, checked below
    ],
)
def test_near_duplicates_are_the_same_story(variant: str) -> None:
    original = REPORT if variant.endswith(REPORT) else COMPLAINT
    a, b = signature(original), signature(variant)
    assert a is not None and b is not None
    assert a.similarity(b) >= SIMILARITY_THRESHOLD
    assert same_story(a, b)
    assert not set(band_keys(a)).isdisjoint(band_keys(b))


@pytest.mark.parametrize("other", [REPORT, *UNRELATED_SAME_BRAND])
def test_different_posts_about_the_same_brand_are_not_the_same_story(other: str) -> None:
    a, b = signature(COMPLAINT), signature(other)
    assert a is not None and b is not None
    assert a.similarity(b) < SIMILARITY_THRESHOLD
    assert not same_story(a, b)


def test_similarity_is_symmetric_and_exact_for_identical_texts() -> None:
    a, b = signature(COMPLAINT), signature(REPORT)
    assert a is not None and b is not None
    assert a.similarity(b) == b.similarity(a)
    assert a.similarity(a) == 1.0
    with pytest.raises(ValueError, match="different lengths"):
        a.similarity(Signature(a.values[:10]))


T0 = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def member(
    name: str,
    *,
    minutes: float,
    kind: str = "user",
    followers: int = 500,
    verified: bool = False,
    parent: str | None = None,
    author: str | None = None,
    views: int = 0,
    reposts: int = 0,
) -> Member:
    return Member(
        mention_id=uuid.uuid5(uuid.NAMESPACE_URL, f"mention:{name}"),
        author_id=uuid.uuid5(uuid.NAMESPACE_URL, f"author:{author or name}"),
        handle=author or name,
        kind=kind,
        followers=followers,
        verified=verified,
        posted_at=T0 + timedelta(minutes=minutes),
        reposts=reposts,
        comments=0,
        likes=0,
        views=views,
        parent_mention_id=uuid.uuid5(uuid.NAMESPACE_URL, f"mention:{parent}") if parent else None,
    )


def mid(name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"mention:{name}")


STORY = [
    member("report", minutes=10, kind="media", followers=3_200_000, verified=True, views=90_000),
    member("doctor", minutes=11, parent="report", followers=8_000),
    member("complaint", minutes=0, followers=1_200, reposts=40),
    member("kol", minutes=15, kind="kol", followers=412_000, verified=True, parent="report"),
    member(
        "kol-again",
        minutes=30,
        kind="kol",
        followers=412_000,
        verified=True,
        author="kol",
        parent="doctor",
        reposts=5_000,
        views=800_000,
    ),
    member("reader", minutes=12, parent="doctor"),
    member("big-user", minutes=20, followers=5_000_000, parent="report"),
    member("lost-parent", minutes=25, parent="not-loaded"),
]


def test_first_poster_is_the_earliest_and_ties_break_by_mention_id() -> None:
    assert first_poster(STORY).mention_id == mid("complaint")
    tied = [member("b", minutes=0), member("a", minutes=0)]
    expected = min(tied, key=lambda m: m.mention_id)
    assert first_poster(tied) == expected
    assert first_poster(list(reversed(tied))) == expected
    with pytest.raises(ValueError):
        first_poster([])


def test_amplifiers_are_media_kol_and_influential_users_once_each() -> None:
    found = amplifiers(STORY)
    assert [amp.handle for amp in found] == ["report", "kol", "big-user"]
    kol = found[1]
    # One entry for the KOL: the earliest mention, the best post's influence.
    assert kol.mention_id == mid("kol")
    assert kol.posted_at == T0 + timedelta(minutes=15)
    assert kol.reach == 412_000  # no views reported on that mention: followers
    assert found[0].reach == 90_000  # views reported: views
    assert found[2].kind == "user" and found[2].influence >= KOL_THRESHOLD
    assert [amp.influence for amp in found] == sorted((a.influence for a in found), reverse=True)
    assert amplifiers(STORY, limit=2) == found[:2]
    assert amplifiers([member("nobody", minutes=0)]) == []


def test_repost_tree_children_in_posting_order_orphans_at_the_root() -> None:
    tree = repost_tree(STORY)
    assert tree[None] == [mid("complaint"), mid("report"), mid("lost-parent")]
    assert tree[mid("report")] == [mid("doctor"), mid("kol"), mid("big-user")]
    assert tree[mid("doctor")] == [mid("reader"), mid("kol-again")]
    placed = [child for children in tree.values() for child in children]
    assert sorted(placed) == sorted(m.mention_id for m in STORY)


def test_repost_tree_breaks_parent_cycles_at_the_earliest_mention() -> None:
    looped = [
        member("x", minutes=1, parent="y"),
        member("y", minutes=2, parent="x"),
        member("self", minutes=3, parent="self"),
    ]
    tree = repost_tree(looped)
    assert tree == {None: [mid("x"), mid("self")], mid("x"): [mid("y")]}
