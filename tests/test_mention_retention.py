"""Each organization's mentions go after its own window; what references them follows."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, text
from sqlmodel import col, select

from libs.database.engine import transaction
from libs.database.tables import (
    Complaint,
    Mention,
    MentionAnalysis,
    Organization,
    ReplyCase,
    Story,
    StoryBand,
    StoryBandRecent,
    WatchlistHit,
)
from libs.mention_retention import MentionRetention, parse_rollups, prune_once
from libs.settings import Settings
from tests.builders import Sessions, organization, watchlist

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


async def _mention(sessions: Sessions, org: Organization, days_ago: float) -> Mention:
    """A mention posted `days_ago` days before NOW, with its analysis and a watchlist hit."""
    posted = NOW - timedelta(days=days_ago)
    async with transaction(sessions) as session:
        mention = Mention(
            organization_id=org.id,
            source="weibo",
            external_id=uuid.uuid4().hex,
            text="奶粉结块",
            content_hash=uuid.uuid4().hex,
            posted_at=posted,
        )
        session.add(mention)
        await session.flush()
        session.add(
            MentionAnalysis(
                mention_id=mention.id,
                organization_id=org.id,
                posted_at=posted,
                sentiment="negative",
                sentiment_score=-0.8,
            )
        )
        hit_list = await watchlist(session, org, f"w-{uuid.uuid4().hex[:8]}")
        session.add(
            WatchlistHit(
                watchlist_id=hit_list.id,
                posted_at=posted,
                mention_id=mention.id,
                organization_id=org.id,
                sentiment="negative",
            )
        )
    return mention


async def _count(sessions: Sessions, table: type, org: Organization) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(table).where(table.organization_id == org.id)  # type: ignore[attr-defined]
        return int((await session.exec(query)).one())


async def test_each_organization_keeps_its_own_window(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        short = await organization(session)
        short.mention_retention_days = 30
        default = await organization(session)
        forever = await organization(session)
        forever.mention_retention_days = 365
    for org in (short, default, forever):
        for days_ago in (1, 29, 31, 100):
            await _mention(sessions, org, days_ago)

    removed = await prune_once(sessions, MentionRetention(default_days=60), now=NOW)

    assert removed["mention"] == 2 + 1
    assert await _count(sessions, Mention, short) == 2
    assert await _count(sessions, Mention, default) == 3
    assert await _count(sessions, Mention, forever) == 4
    # The analysis and watchlist hits went with their mentions, through the foreign keys.
    assert await _count(sessions, MentionAnalysis, short) == 2
    assert await _count(sessions, WatchlistHit, short) == 2
    async with sessions() as session:
        oldest = (
            await session.exec(
                select(func.min(Mention.posted_at)).where(Mention.organization_id == short.id)
            )
        ).one()
    assert oldest == NOW - timedelta(days=29)

    assert (await prune_once(sessions, MentionRetention(default_days=60), now=NOW))["mention"] == 0


async def test_no_default_keeps_everything(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        org = await organization(session)
    await _mention(sessions, org, 3000)
    removed = await prune_once(sessions, MentionRetention(default_days=None), now=NOW)
    assert removed["mention"] == 0
    assert await _count(sessions, Mention, org) == 1


async def test_a_story_goes_with_its_first_post_and_a_reply_case_stays(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        org = await organization(session)
        org.mention_retention_days = 10
    first = await _mention(sessions, org, 12)
    member = await _mention(sessions, org, 5)
    async with transaction(sessions) as session:
        story = Story(
            organization_id=org.id,
            title="结块",
            first_mention_id=first.id,
            mention_count=2,
            started_at=first.posted_at,
            last_posted_at=member.posted_at,
        )
        session.add(story)
        await session.flush()
        session.add(StoryBand(organization_id=org.id, band_key=42, story_id=story.id))
        analysis = await session.get(MentionAnalysis, member.id)
        assert analysis is not None
        analysis.story_id = story.id
        session.add(
            ReplyCase(
                organization_id=org.id,
                mention_id=first.id,
                category="质量",
                text=first.text,
                reply="已联系用户",
                created_by="客服",
            )
        )
        session.add(
            Complaint(
                organization_id=org.id, mention_id=first.id, customer_ref="C-1", channel="hotline"
            )
        )

    await prune_once(sessions, MentionRetention(), now=NOW)

    async with sessions() as session:
        assert await session.get(Mention, first.id) is None
        assert await session.get(Story, story.id) is None
        bands = await session.exec(select(StoryBand).where(StoryBand.story_id == story.id))
        assert bands.all() == []
        kept = await session.get(MentionAnalysis, member.id)
        assert kept is not None and kept.story_id is None
        case = (
            await session.exec(select(ReplyCase).where(ReplyCase.organization_id == org.id))
        ).one()
        assert case.mention_id is None and case.text == "奶粉结块"
        complaints = await session.exec(
            select(Complaint).where(col(Complaint.mention_id) == first.id)
        )
        assert complaints.all() == []


async def test_rollup_tables_named_by_the_operator_keep_their_own_window(
    sessions: Sessions,
) -> None:
    async with transaction(sessions) as session:
        org = await organization(session)
        org.mention_retention_days = 10
    await _mention(sessions, org, 40)
    async with transaction(sessions) as session:
        await session.exec(  # type: ignore[call-overload]
            text(
                "CREATE TABLE IF NOT EXISTS retention_probe_rollup "
                "(organization_id uuid, bucket timestamptz, n int)"
            )
        )
        await session.exec(text("DELETE FROM retention_probe_rollup"))  # type: ignore[call-overload]
        for days_ago in (40, 400, 800):
            await session.exec(  # type: ignore[call-overload]
                text("INSERT INTO retention_probe_rollup VALUES (:org, :at, 1)"),
                params={"org": org.id, "at": NOW - timedelta(days=days_ago)},
            )
    retention = MentionRetention(
        rollup_days=730,
        rollups=parse_rollups("retention_probe_rollup:bucket, not_yet_created:hour"),
    )
    try:
        removed = await prune_once(sessions, retention, now=NOW)
        async with sessions() as session:
            left = (
                await session.exec(text("SELECT count(*) FROM retention_probe_rollup"))  # type: ignore[call-overload]
            ).scalar_one()
    finally:
        async with transaction(sessions) as session:
            await session.exec(text("DROP TABLE retention_probe_rollup"))  # type: ignore[call-overload]
    assert removed == {"mention": 1, "story_band": 0, "retention_probe_rollup": 1}
    assert left == 2


@pytest.mark.parametrize("value", ["mention", "rollup:hour; DROP TABLE x", "Rollup:hour"])
def test_a_malformed_rollup_table_is_refused_naming_the_setting(value: str) -> None:
    with pytest.raises(ValidationError, match="RETENTION_ROLLUP_TABLES"):
        Settings(retention_rollup_tables=value)


def test_settings_give_the_default_window() -> None:
    assert MentionRetention.from_settings(Settings()).default_days is None
    configured = Settings(retention_mentions_days=90, retention_rollup_tables="a:b,c_1:d")
    retention = MentionRetention.from_settings(configured)
    assert retention.default_days == 90
    assert retention.rollups == (("a", "b"), ("c_1", "d"))


async def _story(
    sessions: Sessions,
    org: Organization,
    quiet_days: float,
    keys: range,
    recent_keys: range = range(0),
) -> Story:
    """A story whose last post was `quiet_days` before NOW, holding band keys in each tier."""
    first = await _mention(sessions, org, quiet_days + 1)
    async with transaction(sessions) as session:
        story = Story(
            organization_id=org.id,
            title="结块",
            first_mention_id=first.id,
            mention_count=1,
            started_at=first.posted_at,
            last_posted_at=NOW - timedelta(days=quiet_days),
        )
        session.add(story)
        await session.flush()
        for key in keys:
            session.add(StoryBand(organization_id=org.id, band_key=key, story_id=story.id))
        for key in recent_keys:
            session.add(StoryBandRecent(organization_id=org.id, band_key=key, story_id=story.id))
    return story


async def _bands(
    sessions: Sessions, story: Story, table: type[StoryBand | StoryBandRecent] = StoryBand
) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(table).where(col(table.story_id) == story.id)
        return int((await session.exec(query)).one())


async def test_quiet_stories_give_back_their_band_keys(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("libs.story_bands.BATCH", 2)  # several batches, and a tie at an edge
    async with transaction(sessions) as session:
        org = await organization(session)
        other = await organization(session)
    current = await _story(sessions, org, 0, range(100, 103))  # the organization's clock: NOW
    recent = await _story(sessions, org, 29, range(0, 3))
    quiet = [await _story(sessions, org, days, range(10 * n, 10 * n + 3), range(200 + n, 201 + n))
             for n, days in enumerate((31, 31, 31, 60, 400), start=1)]  # fmt: skip
    await _story(sessions, other, 0, range(100, 103))
    elsewhere = await _story(sessions, other, 60, range(0, 3))
    retention = MentionRetention(story_band_days=30)

    removed = await prune_once(sessions, retention, now=NOW)

    # Both tiers' keys go after the long window; `other` has its own window too.
    assert removed["story_band"] == 3 * len(quiet) + len(quiet) + 3
    assert await _bands(sessions, recent) == 3
    assert await _bands(sessions, current) == 3
    assert [await _bands(sessions, story) for story in (*quiet, elsewhere)] == [0] * 6
    assert [await _bands(sessions, story, StoryBandRecent) for story in quiet] == [0] * 5
    assert await _count(sessions, Story, org) == 7  # the stories themselves stay
    async with sessions() as session:
        marked = await session.get(Organization, org.id)
        assert marked is not None
        assert marked.story_bands_released_until == NOW - timedelta(days=30)

    # A later pass reads only what went quiet since: nothing while the organization's clock
    # stands still, the recent story once a post a day later moves it on.
    later = NOW + timedelta(days=1, seconds=1)
    assert (await prune_once(sessions, retention, now=later))["story_band"] == 0
    await _story(sessions, org, -(1 + 1 / 86400), range(300, 303))
    assert (await prune_once(sessions, retention, now=later))["story_band"] == 3
    assert await _bands(sessions, recent) == 0


async def test_recent_band_keys_go_after_hours_and_the_lasting_quarter_stays(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("libs.story_bands.BATCH", 1)  # a transaction per story
    async with transaction(sessions) as session:
        org = await organization(session)
    await _story(sessions, org, 0, range(0))
    quiet = await _story(sessions, org, 25 / 24, range(0, 2), range(10, 16))
    lively = await _story(sessions, org, 23 / 24, range(20, 22), range(30, 36))
    retention = MentionRetention(story_band_days=30, story_band_recent_hours=24)

    assert (await prune_once(sessions, retention, now=NOW))["story_band"] == 6

    assert await _bands(sessions, quiet, StoryBandRecent) == 0
    assert await _bands(sessions, quiet) == 2  # still found through its lasting quarter
    assert await _bands(sessions, lively, StoryBandRecent) == 6

    # A story stored late (a crawl of posts from days ago) after that pass is released by
    # the next one: the recent pass reads the stories its table holds, not a mark.
    late = await _story(sessions, org, 3, range(40, 42), range(50, 56))
    assert (await prune_once(sessions, retention, now=NOW))["story_band"] == 6
    assert await _bands(sessions, late, StoryBandRecent) == 0
    assert await _bands(sessions, late) == 2
    assert await _bands(sessions, lively, StoryBandRecent) == 6


async def test_quiet_is_counted_on_the_organizations_own_clock(sessions: Sessions) -> None:
    """A stream pushed with posts from ten days ago keeps the keys of its live stories."""
    async with transaction(sessions) as session:
        org = await organization(session)
    newest = await _story(sessions, org, 10, range(0), range(0, 3))
    hours_earlier = await _story(sessions, org, 10 + 2 / 24, range(0), range(10, 13))
    day_earlier = await _story(sessions, org, 10 + 25 / 24, range(0), range(20, 23))
    retention = MentionRetention(story_band_recent_hours=24)

    assert (await prune_once(sessions, retention, now=NOW))["story_band"] == 3

    assert await _bands(sessions, newest, StoryBandRecent) == 3
    assert await _bands(sessions, hours_earlier, StoryBandRecent) == 3
    assert await _bands(sessions, day_earlier, StoryBandRecent) == 0


async def test_an_organization_without_stories_releases_nothing(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        org = await organization(session)
    retention = MentionRetention(story_band_days=30, story_band_recent_hours=24)
    assert (await prune_once(sessions, retention, now=NOW))["story_band"] == 0
    async with sessions() as session:
        marked = await session.get(Organization, org.id)
        assert marked is not None
        assert marked.story_bands_released_until is None


async def test_band_keys_stay_when_the_setting_is_zero(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        org = await organization(session)
    await _story(sessions, org, 0, range(0))
    story = await _story(sessions, org, 400, range(0, 3), range(10, 13))
    assert Settings(retention_story_bands_days=0).retention_story_bands_days == 0
    retention = MentionRetention.from_settings(
        Settings(retention_story_bands_days=0, retention_story_bands_recent_hours=0)
    )
    assert (await prune_once(sessions, retention, now=NOW))["story_band"] == 0
    assert await _bands(sessions, story) == 3
    assert await _bands(sessions, story, StoryBandRecent) == 3
    defaults = MentionRetention.from_settings(Settings())
    assert (defaults.story_band_days, defaults.story_band_recent_hours) == (30, 24)
