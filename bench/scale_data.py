"""Millions of realistic mentions, streamed by COPY into the real schema (`bench/scale.py`).

What a year of monitoring leaves in the database, in the proportions the live pipeline
writes them: one organization with twenty watch rules; authors on a skewed (Zipf-like)
curve, a few of them media and KOL accounts; mentions spread over `days` with the demo
stream's posts and the seed documents' sentences as text, a third of them reposts; every
mention analysed; a watchlist hit per watchlist the text really matches; one story row per
three mentions (what the pipeline writes today, docs/scale.md) with its 40 LSH band keys;
and incidents with tasks and timelines, and risk signals, at a few a day.

Analysis is not faked: each distinct text is analysed once by the real analyzer (segmenter,
sentiment model, watch rules, sensitive terms, crisis type, MinHash) against the
organization's real rules, and every mention of that text carries that analysis.

Rows go through asyncpg's binary COPY, a chunk at a time, so memory stays flat at any size.
Secondary indexes are dropped before the load and built again after it (their definitions
read from the catalog, so the schema ends exactly as migrated), and foreign-key triggers are
off on the loading connection: the generator makes every reference valid by construction.
"""

import json
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from harness import ROOT, dsn, realistic_texts

from libs.contracts.messages import CreateWatchlist
from libs.database.engine import create_engine, session_factory, transaction
from libs.ids import id_at
from libs.settings import Settings
from libs.story_bands import LASTING_SHARE
from libs.text import content_hash, normalize
from services.analysis.analyzer import (
    Analyzer,
    MentionText,
    OrgConfig,
    WatchlistSpec,
    compile_profile,
)
from services.analysis.configuration import create_watchlist
from services.analysis.influence import influence, is_amplifier

CHUNK = 20_000
STORY_SHARE = 3  # one story row per this many mentions
BAND_DAYS: int = Settings.model_fields["retention_story_bands_days"].default
"""How long a quiet story keeps its long-kept band keys, as retention is configured by default."""
RECENT_BAND_HOURS: int = Settings.model_fields["retention_story_bands_recent_hours"].default
"""How long a quiet story keeps its other band keys, likewise."""
BANDS_PER_STORY = 40  # the LSH bands; a new story claims nearly all of its keys (measured 39.9)
REPOST_SHARE = 0.3
BRAND_SHARE = 0.6  # mentions drawn from the brand's own posts rather than the seed documents
AUTHORS_PER_MENTION = 1 / 20
SOURCES = (
    ("weibo", 50),
    ("douyin", 20),
    ("xiaohongshu", 15),
    ("wechat", 8),
    ("news", 4),
    ("zhihu", 3),
)
# Twenty watch rules a dairy brand's team would write (as bench/analysis_throughput.py).
RULES = (
    ("品牌", "禾岚 | 禾岚乳业 | 禾岚奶粉"),
    ("异物变质", "(禾岚 | 启护 | 悠羊) & (异物 | 黑色硬块 | 结块 | 变质 | 酸味)"),
    ("致癌召回", "(奶粉 | 米粉) & (致癌 | 召回) & !谣言"),
    ("肠胃不适", "禾岚 & (拉肚子 | 腹泻 | 呕吐 | 住院 | 急诊)"),
    ("客服售后", "禾岚 & (客服 | 退款 | 售后) & !表扬"),
    ("维权投诉", "(禾岚 | 启护) & (维权 | 投诉 | 12315 | 曝光)"),
    ("监管", '"3·15" | 315晚会 | 市场监管'),
    ("微博抖音", "禾岚 & source:(weibo | douyin)"),
    ("代言广告", "禾岚 & (代言人 | 广告) & (翻车 | 道歉)"),
    ("抽检", "(奶粉 | 婴儿配方) & (检测 | 抽检) & (不合格 | 超标)"),
    ("隐私", "禾岚 & (泄露 | 隐私 | 个人信息)"),
    ("缺货涨价", "(启护 | 悠羊) & (涨价 | 缺货 | 断货)"),
    ("直播活动", "禾岚 & (直播 | 活动) & (混乱 | 抢不到 | 崩溃)"),
    ("媒体", "(晨潮新闻 | 记者) & 禾岚"),
    ("过敏", "宝宝 & 奶粉 & (过敏 | 湿疹)"),
    ("非抽奖", "禾岚 & !(抽奖 | 转发)"),
    ("行业丑闻", "(乳业 | 奶企) & (丑闻 | 事故)"),
    ("批号", "禾岚 & (批号 | 生产日期)"),
    ("对比", "(羊奶粉 | 牛奶粉) & 对比"),
    ("好评", "禾岚 & (好评 | 推荐 | 回购)"),
)
KEYWORDS = ("禾岚", "禾岚乳业", "禾岚奶粉", "禾岚启护", "禾岚悠羊", "晨潮新闻")
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")


def seed_sentences() -> list[str]:
    """Sentences of the seed documents, wherever the checkout keeps them beside it."""
    for folder in (ROOT.parent / "shared" / "seeds", ROOT.parent.parent / "shared" / "seeds"):
        if folder.is_dir():
            found = []
            for path in sorted(folder.glob("*.txt")):
                for match in _SENTENCE.finditer(path.read_text(encoding="utf-8")):
                    sentence = match.group().strip()
                    if 12 <= len(sentence) <= 200:
                        found.append(sentence)
            return found
    return []


@dataclass(frozen=True)
class Template:
    """One distinct text and what the real analyzer concluded about it."""

    text: str
    normalized: str
    content_hash: str
    brand: bool
    sentiment: str
    sentiment_score: float
    sentiment_probability: float
    sentiment_evidence: list[str]
    tokens: list[str]
    hashtags: list[str]
    watchlist_ids: list[uuid.UUID]
    matched_keywords: list[str]
    sensitive_score: float
    sensitive_hits: str
    sensitive_terms: list[str]
    crisis_type: str | None
    crisis_confidence: float
    crisis_evidence: list[str]
    signature: bytes | None


def analyse_templates(watchlists: dict[str, uuid.UUID], limit: int) -> list[Template]:
    """Analyse up to `limit` distinct texts (brand posts first, and their reposts) once."""
    brand = realistic_texts()
    brand = list(dict.fromkeys(brand))
    seeds = [s for s in dict.fromkeys(seed_sentences()) if s not in brand]
    rules = dict(RULES)
    config = OrgConfig(
        watchlists=tuple(
            WatchlistSpec(id=wid, query=rules[name], keywords=KEYWORDS if name == "品牌" else ())
            for name, wid in watchlists.items()
            if name in rules
        )
    )
    profile = compile_profile(config)
    analyzer = Analyzer()
    analyzer.load()
    texts: list[tuple[str, bool]] = []
    for text in brand[: max(1, limit // 4)]:
        texts += [(text, True), (f"说得对，大家注意 //@用户{len(texts)}:{text}", True)]
    for text in seeds[: max(1, limit // 4)]:
        texts += [(text, False), (f"转发微博 //@用户{len(texts)}:{text}", False)]
    templates = []
    for text, is_brand in texts:
        normalized = normalize(text)
        verdict = analyzer.analyze(MentionText(uuid.uuid4(), normalized, "weibo"), profile)
        sentiment = verdict.scored.sentiment
        matched = verdict.matched
        hits = matched.sensitive.hits
        templates.append(
            Template(
                text=text,
                normalized=normalized,
                content_hash=content_hash(normalized),
                brand=is_brand,
                sentiment=sentiment.label.value,
                sentiment_score=sentiment.score,
                sentiment_probability=sentiment.probability,
                sentiment_evidence=list(sentiment.evidence),
                tokens=verdict.scored.tokens,
                hashtags=list(verdict.prepared.hashtags),
                watchlist_ids=matched.watchlist_ids,
                matched_keywords=matched.matched_terms,
                sensitive_score=matched.sensitive.score,
                sensitive_hits=json.dumps(
                    [
                        {"term": h.term, "category": h.category.value, "weight": h.weight}
                        for h in hits
                    ],
                    ensure_ascii=False,
                ),
                sensitive_terms=[h.term for h in hits],
                crisis_type=matched.crisis.crisis_type.value
                if matched.crisis.crisis_type
                else None,
                crisis_confidence=matched.crisis.confidence,
                crisis_evidence=list(matched.crisis.evidence),
                signature=verdict.signature.to_bytes() if verdict.signature else None,
            )
        )
    return templates


@dataclass
class Authors:
    """The organization's authors: ids, handles and what influence reads."""

    ids: list[uuid.UUID] = field(default_factory=list)
    handles: list[str] = field(default_factory=list)
    followers: list[int] = field(default_factory=list)
    verified: list[bool] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def pick(self, rng: random.Random) -> int:
        """A skewed draw: the first authors post far more often than the tail."""
        return min(len(self.ids) - 1, int(len(self.ids) * rng.random() ** 3))


def make_authors(
    count: int, rng: random.Random, sources: list[str], first_seen: datetime
) -> Authors:
    """`count` authors; 1 % media, 3 % KOL, followers log-normal around a few hundred; ids
    made from `first_seen` on, a millisecond apart."""
    authors = Authors()
    for n in range(count):
        kind = "media" if n % 100 == 7 else "kol" if n % 100 in (3, 31, 67) else "user"
        followers = int(rng.lognormvariate(5.5, 2.0)) * (30 if kind != "user" else 1)
        authors.ids.append(id_at(first_seen + timedelta(milliseconds=n)))
        authors.handles.append(f"用户{n:07d}")
        authors.followers.append(followers)
        authors.verified.append(kind != "user" or n % 50 == 0)
        authors.kinds.append(kind)
        authors.sources.append(sources[n % len(sources)])
    return authors


AUTHOR_COLUMNS = (
    "id",
    "organization_id",
    "source",
    "handle",
    "followers",
    "verified",
    "kind",
    "updated_at",
)
MENTION_COLUMNS = (
    "id", "organization_id", "source", "external_id", "text", "content_hash",
    "url", "posted_at", "author_id", "reposts", "comments", "likes", "views", "repost_of",
    "ingested_at",
)  # fmt: skip
ANALYSIS_COLUMNS = (
    "mention_id", "organization_id", "posted_at", "sentiment", "sentiment_score",
    "sentiment_probability", "sentiment_evidence", "tokens", "hashtags", "watchlist_ids",
    "matched_keywords", "sensitive_score", "sensitive_hits", "crisis_type", "crisis_confidence",
    "crisis_evidence", "story_id", "parent_mention_id", "influence", "amplifier", "analyzed_at",
)  # fmt: skip
HIT_COLUMNS = (
    "watchlist_id", "posted_at", "mention_id", "organization_id", "author_id", "author_handle",
    "author_kind", "followers", "views", "influence", "sentiment", "sensitive_score",
    "sensitive_terms", "crisis_type", "crisis_evidence", "story_id", "source",
)  # fmt: skip
STORY_COLUMNS = (
    "id", "organization_id", "title", "first_mention_id", "first_author_id", "signature",
    "mention_count", "started_at", "last_posted_at", "created_at",
)  # fmt: skip


@dataclass
class Chunk:
    """The rows of one slice of time, ready to COPY."""

    mentions: list[tuple[Any, ...]] = field(default_factory=list)
    analyses: list[tuple[Any, ...]] = field(default_factory=list)
    hits: list[tuple[Any, ...]] = field(default_factory=list)
    stories: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass
class _Story:
    id: uuid.UUID
    title: str
    first_mention: uuid.UUID
    first_author: uuid.UUID
    signature: bytes | None
    started: datetime
    last: datetime
    count: int = 1


def chunks(
    organization_id: uuid.UUID,
    total: int,
    days: float,
    now: datetime,
    templates: list[Template],
    authors: Authors,
    rng: random.Random,
) -> Iterator[Chunk]:
    """Yield the mentions, oldest first, with their analyses, hits and stories, by chunk."""
    brand = [t for t in templates if t.brand] or templates
    other = [t for t in templates if not t.brand] or templates
    sources = [s for s, w in SOURCES for _ in range(w)]
    start = now - timedelta(days=days)
    span = (now - start).total_seconds()
    recent: list[tuple[str, uuid.UUID, uuid.UUID | None]] = []  # (external id, id, story)
    made = 0
    while made < total:
        size = min(CHUNK, total - made)
        chunk = Chunk()
        stories: list[_Story] = []
        by_id: dict[uuid.UUID, _Story] = {}
        # Times of this chunk's slice, in order: ingest order follows posting order.
        offsets = sorted(rng.random() for _ in range(size))
        for i in range(size):
            n = made + i
            posted = start + timedelta(seconds=span * (n + offsets[i]) / total)
            pool = brand if rng.random() < BRAND_SHARE else other
            template = pool[int(len(pool) * rng.random() ** 1.5)]
            a = authors.pick(rng)
            author_id, source = authors.ids[a], sources[n % len(sources)]
            mention_id = id_at(posted)
            external_id = f"{n:09d}"
            views = int(rng.lognormvariate(5.0, 1.8))
            likes, comments, reposts = views // 40, views // 200, views // 300
            parent: tuple[str, uuid.UUID, uuid.UUID | None] | None = None
            if recent and rng.random() < REPOST_SHARE:
                parent = recent[int(len(recent) * rng.random())]
            story_id: uuid.UUID | None
            if parent is not None and parent[2] is not None:
                story_id = parent[2]
            elif not stories or rng.random() < 1 / STORY_SHARE / (1 - REPOST_SHARE):
                story = _Story(
                    id_at(posted), template.normalized[:120], mention_id, author_id,
                    template.signature, posted, posted,
                )  # fmt: skip
                stories.append(story)
                by_id[story.id] = story
                story_id = story.id
            else:
                story_id = stories[-1 - int(min(len(stories), 200) * rng.random())].id
            score = influence(
                authors.followers[a], authors.verified[a], authors.kinds[a],
                reposts=reposts, comments=comments, likes=likes, views=views,
            )  # fmt: skip
            chunk.mentions.append(
                (
                    mention_id, organization_id, source, external_id, template.text,
                    template.content_hash,
                    f"https://{source}.com/{a}/{external_id}", posted, author_id, reposts,
                    comments, likes, views, parent[0] if parent else None,
                    posted + timedelta(seconds=2 + 30 * rng.random()),
                )
            )  # fmt: skip
            chunk.analyses.append(
                (
                    mention_id, organization_id, posted, template.sentiment,
                    template.sentiment_score, template.sentiment_probability,
                    template.sentiment_evidence, template.tokens, template.hashtags,
                    template.watchlist_ids, template.matched_keywords, template.sensitive_score,
                    template.sensitive_hits, template.crisis_type, template.crisis_confidence,
                    template.crisis_evidence, story_id, parent[1] if parent else None, score,
                    is_amplifier(authors.kinds[a], score), posted + timedelta(seconds=3),
                )
            )  # fmt: skip
            for watchlist_id in template.watchlist_ids:
                chunk.hits.append(
                    (
                        watchlist_id, posted, mention_id, organization_id, author_id,
                        authors.handles[a], authors.kinds[a], authors.followers[a], views,
                        score, template.sentiment, template.sensitive_score,
                        template.sensitive_terms, template.crisis_type, template.crisis_evidence,
                        story_id, source,
                    )
                )  # fmt: skip
            recent.append((external_id, mention_id, story_id))
            if len(recent) > 5000:
                del recent[:1000]
            member = by_id.get(story_id) if story_id is not None else None
            if member is not None and member.first_mention != mention_id:
                member.count += 1
                member.last = posted
        chunk.stories = [
            (
                s.id, organization_id, s.title, s.first_mention, s.first_author, s.signature,
                s.count, s.started, s.last, s.started + timedelta(seconds=3),
            )
            for s in stories
        ]  # fmt: skip
        # A repost of a post in an earlier chunk joins that chunk's story, already written.
        made += size
        yield chunk


@dataclass
class Loaded:
    """What a load made: the organization, its watchlists and the rows written per table."""

    organization_id: uuid.UUID
    watchlists: dict[str, uuid.UUID]
    rows: dict[str, int]
    seconds: float


SECONDARY_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relnamespace = current_schema()::regnamespace
  AND t.relname = ANY($1::text[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY 1
"""
LOADED_TABLES = (
    "author",
    "mention",
    "mention_analysis",
    "watchlist_hit",
    "story",
    "story_band",
    "story_band_recent",
)


async def create_watchlists(
    database_url: str, organization_id: uuid.UUID, now: datetime
) -> dict[str, uuid.UUID]:
    """Create the organization's twenty watchlists through the real command handler."""
    engine = create_engine(database_url, pool_size=1)
    made: dict[str, uuid.UUID] = {}
    try:
        for name, rule in RULES:
            async with transaction(session_factory(engine)) as session:
                result = await create_watchlist(
                    session,
                    CreateWatchlist(
                        organization_id=organization_id,
                        actor="bench",
                        name=name,
                        query=rule,
                        keywords=list(KEYWORDS) if name == "品牌" else [],
                    ),
                    now=now,
                )
                assert result.ok, result
                made[name] = uuid.UUID(str(result.data["id"]))
    finally:
        await engine.dispose()
    return made


async def load(
    database_url: str,
    organization_id: uuid.UUID,
    watchlists: dict[str, uuid.UUID],
    total: int,
    days: float,
    *,
    seed: int = 14,
    band_days: int = BAND_DAYS,
    recent_hours: int = RECENT_BAND_HOURS,
    say: Callable[[str], None] = print,
) -> Loaded:
    """Generate and COPY `total` mentions over `days` with everything that hangs off them."""
    started = time.monotonic()
    rng = random.Random(seed)
    now = datetime.now(UTC)
    templates = analyse_templates(watchlists, limit=max(40, min(4000, total // 50)))
    say(f"  analysed {len(templates)} distinct texts with the real analyzer")
    authors = make_authors(
        max(50, int(total * AUTHORS_PER_MENTION)),
        rng,
        [s for s, _ in SOURCES],
        now - timedelta(days=days),
    )
    conn = await asyncpg.connect(dsn(database_url))
    rows = dict.fromkeys(LOADED_TABLES, 0)
    try:
        await conn.execute("SET session_replication_role = replica")  # no FK triggers
        await conn.execute("SET maintenance_work_mem = '512MB'")
        indexes = await conn.fetch(SECONDARY_INDEXES, list(LOADED_TABLES))
        for name, _ in indexes:
            await conn.execute(f"DROP INDEX {name}")
        # Nothing references the band keys' primary key: built once after the load, it is a
        # sort rather than 40 random B-tree insertions per story.
        band_key = await conn.fetchval(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'story_band_pkey'"
        )
        await conn.execute("ALTER TABLE story_band DROP CONSTRAINT story_band_pkey")
        await conn.copy_records_to_table(
            "author",
            columns=AUTHOR_COLUMNS,
            records=[
                (authors.ids[i], organization_id, authors.sources[i], authors.handles[i],
                 authors.followers[i], authors.verified[i], authors.kinds[i], now)
                for i in range(len(authors.ids))
            ],
        )  # fmt: skip
        rows["author"] = len(authors.ids)
        for chunk in chunks(organization_id, total, days, now, templates, authors, rng):
            for table, columns, records in (
                ("mention", MENTION_COLUMNS, chunk.mentions),
                ("story", STORY_COLUMNS, chunk.stories),
                ("mention_analysis", ANALYSIS_COLUMNS, chunk.analyses),
                ("watchlist_hit", HIT_COLUMNS, chunk.hits),
            ):
                await conn.copy_records_to_table(table, columns=columns, records=records)
                rows[table] += len(records)
            if rows["mention"] % (CHUNK * 25) < CHUNK:
                rate = rows["mention"] / (time.monotonic() - started)
                say(f"  {rows['mention']:,} mentions copied ({rate:,.0f}/s)")
        # Band keys are 64-bit hashes: generated in the server, not worth the wire. Hashed
        # from (story, band), not drawn with random(), whose 52 bits gave a duplicate key
        # about one load in eight at 33 M keys. Each goes to the tier its value names
        # (`libs.story_bands.is_lasting`), and only for the stories the retention pass
        # leaves it for: the long-kept quarter for stories posted to within the band
        # window, the rest within the recent one (or the band window, when that is 0). The
        # organization's mark says how far the long pass has gone.
        released_until = now - timedelta(days=band_days) if band_days else None
        recent_until = now - timedelta(hours=recent_hours) if recent_hours else released_until
        for table, lasting, until in (
            ("story_band", True, released_until),
            ("story_band_recent", False, recent_until),
        ):
            status = await conn.execute(
                f"INSERT INTO {table} (organization_id, band_key, story_id) "
                "SELECT organization_id, k, id FROM story, generate_series(1, $1) g, "
                "LATERAL (SELECT hashtextextended(id::text || ':' || g, 14) AS k) h "
                f"WHERE organization_id = $2 AND ($3::timestamptz IS NULL OR last_posted_at >= $3) "
                f"AND (k % {LASTING_SHARE} = 0) = $4",
                BANDS_PER_STORY,
                organization_id,
                until,
                lasting,
            )
            rows[table] = int(status.split()[-1])
        # Every loaded mention is analysed, and ingest's reconciler of a running system has
        # checked up to now: without its mark, its first pass would read all ten million.
        await conn.execute(
            "UPDATE organization SET story_bands_released_until = $1,"
            " unanalysed_checked_until = $3 WHERE id = $2",
            released_until,
            organization_id,
            now,
        )
        say(f"  copied in {time.monotonic() - started:,.0f} s; building {len(indexes)} indexes")
        await conn.execute(f"ALTER TABLE story_band ADD CONSTRAINT story_band_pkey {band_key}")
        for _, definition in indexes:
            await conn.execute(definition)
        await seed_incidents(conn, organization_id, list(watchlists.values()), days, now)
        await conn.execute("SET session_replication_role = origin")
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return Loaded(organization_id, watchlists, rows, time.monotonic() - started)


async def seed_incidents(
    conn: asyncpg.Connection,
    organization_id: uuid.UUID,
    watchlist_ids: list[uuid.UUID],
    days: float,
    now: datetime,
) -> None:
    """Risk signals (20 a day), incidents (one a day) with five tasks and six timeline events."""
    rng = random.Random(7)
    tiers = ("blue", "yellow", "orange", "red")
    signals: list[tuple[Any, ...]] = []
    for n in range(int(days * 20)):
        at = now - timedelta(days=days) + timedelta(hours=24 * n / 20)
        signals.append(
            (uuid.uuid4(), organization_id, watchlist_ids[n % len(watchlist_ids)],
             tiers[min(3, int(4 * rng.random() ** 2))], round(40 + 60 * rng.random(), 1),
             json.dumps({"volume": 1.0}), ["volume above baseline"], [], None,
             at - timedelta(hours=1), at, at)
        )  # fmt: skip
    await conn.copy_records_to_table(
        "risk_signal",
        columns=("id", "organization_id", "watchlist_id", "tier", "score", "components",
                 "reasons", "top_mention_ids", "crisis_type", "window_start", "window_end",
                 "created_at"),
        records=signals,
    )  # fmt: skip
    incidents: list[tuple[Any, ...]] = []
    tasks: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    # At most one open incident per watchlist: only the last few stay open.
    count = max(1, int(days))
    for n in range(count):
        at = now - timedelta(days=days) + timedelta(days=n + rng.random())
        incident_id = uuid.uuid4()
        status = "detected" if n >= count - min(5, len(watchlist_ids)) else "closed"
        watchlist_id = watchlist_ids[(n - count) % len(watchlist_ids)]
        incidents.append(
            (incident_id, organization_id, watchlist_id, f"舆情事件 {n}", tiers[n % 4], status,
             at, 0, at, at)
        )  # fmt: skip
        for k, kind in enumerate(
            ("verify", "holding_statement", "notify_legal", "monitor", "review")
        ):
            tasks.append(
                (uuid.uuid4(), organization_id, incident_id, kind, f"任务 {kind}", k,
                 at + timedelta(hours=k + 1), "done" if status == "closed" else "open", at)
            )  # fmt: skip
        for k in range(6):
            events.append(
                (uuid.uuid4(), organization_id, incident_id, "note", f"进展 {k}", "bench",
                 json.dumps({}), at + timedelta(minutes=20 * k))
            )  # fmt: skip
    await conn.copy_records_to_table(
        "incident",
        columns=("id", "organization_id", "watchlist_id", "title", "tier", "status",
                 "detected_at", "reopened_count", "created_at", "updated_at"),
        records=incidents,
    )  # fmt: skip
    await conn.copy_records_to_table(
        "response_task",
        columns=("id", "organization_id", "incident_id", "kind", "title", "position", "due_at",
                 "status", "created_at"),
        records=tasks,
    )  # fmt: skip
    await conn.copy_records_to_table(
        "timeline_event",
        columns=("id", "organization_id", "incident_id", "kind", "message", "actor", "data",
                 "occurred_at"),
        records=events,
    )  # fmt: skip
