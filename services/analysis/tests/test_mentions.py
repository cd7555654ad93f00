"""Reading stored mentions with their authors: a batch's pending ones, a backtest's pages."""

from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import AuthorKind
from services.analysis.repository.mentions import mentions_between, pending_mentions
from services.analysis.repository.rows import AnalysisRow
from services.analysis.repository.writes import insert_analyses
from services.analysis.tests.builders import make_author, make_mention, make_organization

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_pages_follow_posting_order_across_equal_times(session: AsyncSession) -> None:
    org = await make_organization(session)
    other = await make_organization(session)
    media = make_author(session, org, "晨潮新闻", kind=AuthorKind.MEDIA, followers=3_000_000)
    await session.flush()
    same_time = [make_mention(session, org, f"同一秒 {i}", NOW, author=media) for i in range(3)]
    earlier = make_mention(session, org, "更早", NOW - timedelta(minutes=1))
    make_mention(session, org, "范围之外", NOW + timedelta(minutes=1))
    make_mention(session, other, "别的组织", NOW)
    await session.flush()

    start = NOW - timedelta(hours=1)
    pages = []
    page = await mentions_between(session, org, start, NOW, after=None, limit=2)
    while page:
        pages.append([m.id for m in page])
        page = await mentions_between(session, org, start, NOW, after=page[-1], limit=2)

    ordered = [earlier.id, *sorted(m.id for m in same_time)]
    assert pages == [ordered[:2], ordered[2:]]
    by_id = {m.id: m for m in await mentions_between(session, org, start, NOW, after=None, limit=9)}
    authored, anonymous = by_id[same_time[0].id], by_id[earlier.id]
    assert (authored.handle, authored.kind, authored.followers) == ("晨潮新闻", "media", 3_000_000)
    # Without an author a mention reads as an ordinary user's with no audience.
    assert (anonymous.author_id, anonymous.kind, anonymous.followers) == (None, "user", 0)


async def test_pending_mentions_leave_out_analysed_and_foreign_ones(session: AsyncSession) -> None:
    org = await make_organization(session)
    other = await make_organization(session)
    analysed, fresh = (
        make_mention(session, org, "已分析", NOW),
        make_mention(session, org, "新", NOW),
    )
    foreign = make_mention(session, other, "别的组织", NOW)
    await session.flush()
    await insert_analyses(
        session,
        [
            AnalysisRow(
                mention_id=analysed.id, organization_id=org, posted_at=NOW, sentiment="neutral",
                sentiment_score=0.0, sentiment_probability=1.0, sentiment_evidence=[], tokens=[],
                hashtags=[], watchlist_ids=[], matched_keywords=[], sensitive_score=0.0,
                sensitive_hits=[], crisis_type=None, crisis_confidence=0.0, crisis_evidence=[],
                story_id=None, parent_mention_id=None, influence=0.0, amplifier=False,
                analyzed_at=NOW,
            )
        ],
    )  # fmt: skip
    pending = await pending_mentions(session, org, [analysed.id, fresh.id, foreign.id])
    assert [m.id for m in pending] == [fresh.id]
