"""Dashboards and author rankings read from the rollups answer exactly what the raw scans
they replaced answered, for windows that start and end anywhere, every bucket width and
odd UTC offsets; and figures past 2^31 travel as BigInt."""

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL, gid
from libs.contracts.enums import Role, Sentiment, Source
from libs.database.engine import transaction
from libs.database.tables import MentionFailure, Organization, Watchlist
from tests.builders import Sessions, Tenant

EPOCH = datetime(2000, 1, 3, tzinfo=UTC)
# A window edge that falls inside a minute; mentions are posted seconds either side of it.
ODD = T0 - timedelta(hours=13, minutes=7, seconds=13, microseconds=500)
EDGES = [
    ODD + timedelta(days=days, hours=hours, seconds=seconds)
    for days in (-1, 0, 1, 2)
    for hours in (0, 10, 24, 30)
    for seconds in (-7, -1, 0, 2, 50)
]

# The raw scans the dashboard ran before the rollups, kept here as the reference.
RAW_VOLUME = """
    SELECT date_bin(CAST(:width AS interval), m.posted_at, CAST(:origin AS timestamptz)),
           count(*), count(*) FILTER (WHERE a.sentiment = 'positive'),
           count(*) FILTER (WHERE a.sentiment = 'neutral'),
           count(*) FILTER (WHERE a.sentiment = 'negative'), avg(a.sentiment_score)
    FROM mention m
    LEFT JOIN mention_analysis a ON a.mention_id = m.id AND a.organization_id = :org
    WHERE m.organization_id = :org AND m.posted_at >= :since AND m.posted_at < :until
      AND (CAST(:watchlist AS uuid) IS NULL OR a.watchlist_ids @> ARRAY[CAST(:watchlist AS uuid)])
    GROUP BY 1
"""
RAW_SHARE = """
    SELECT w.watchlist_id, count(*), count(*) FILTER (WHERE a.sentiment = 'negative')
    FROM mention_analysis a
    JOIN mention m ON m.id = a.mention_id
    CROSS JOIN LATERAL unnest(a.watchlist_ids) AS w(watchlist_id)
    WHERE a.organization_id = :org AND m.organization_id = :org
      AND m.posted_at >= :since AND m.posted_at < :until
    GROUP BY 1
"""
RAW_AUTHORS = """
    SELECT m.author_id::text, count(*), count(*) FILTER (WHERE a.sentiment = 'negative'),
           sum(m.views), sum(m.reposts + m.comments + m.likes), max(a.influence),
           max(m.posted_at)
    FROM mention m
    JOIN mention_analysis a ON a.mention_id = m.id AND a.organization_id = :org
    WHERE m.organization_id = :org AND m.author_id IS NOT NULL
      AND (CAST(:since AS timestamptz) IS NULL OR m.posted_at >= :since)
      AND (CAST(:until AS timestamptz) IS NULL OR m.posted_at < :until)
    GROUP BY 1
"""

VOLUME = """
query($since: DateTime, $until: DateTime, $watchlistId: ID, $bucket: TimeBucket!, $offset: Int!) {
  dashboard(since: $since, until: $until, watchlistId: $watchlistId) {
    volume(bucket: $bucket, utcOffsetMinutes: $offset) {
      start total positive neutral negative unanalyzed averageSentimentScore
    }
    shareOfVoice { watchlist { id } mentionTotal negativeTotal }
    topAuthors(first: 100) { databaseId mentionCount negativeCount reachTotal engagementTotal
                             influence lastPostedAt }
  }
}
"""
AUTHORS = """
query($filter: AuthorFilter) {
  authors(first: 100, filter: $filter) {
    edges { node { databaseId mentionCount negativeCount reachTotal engagementTotal influence
                   lastPostedAt } }
  }
}
"""


async def _seed(sessions: Sessions, acme: Tenant, rival: Tenant) -> list[Watchlist]:
    """Store acme mentions over four days: analysed on zero to two watchlists, or not yet."""
    pick = random.Random(6)
    async with transaction(sessions) as session:
        watchlists = [
            await builders.watchlist(session, acme.org.id, name)
            for name in ("奶粉", "物流", "门店")
        ]
        people = [
            await builders.author(session, acme.org.id, f"作者{i}", followers=10 * i)
            for i in range(6)
        ]
        spread = [T0 - timedelta(days=2, seconds=-pick.randrange(4 * 86400)) for _ in range(160)]
        for posted_at in [*spread, *EDGES]:
            row = await builders.mention(
                session,
                acme.org.id,
                posted_at=posted_at,
                source=pick.choice([Source.WEIBO, Source.DOUYIN]),
                author_id=pick.choice(people).id if pick.random() < 0.8 else None,
                views=pick.randrange(10**5),
                likes=pick.randrange(100),
                reposts=pick.randrange(10),
            )
            if pick.random() < 0.12:
                # Not analysed: stored just now (0), stored hours ago and failed since (1,
                # found through its failure row only), or stored just now and failed already
                # (2, on both lists of candidates and counted once).
                kind = pick.randrange(3)
                if kind:
                    if kind == 1:
                        row.ingested_at = datetime.now(UTC) - timedelta(hours=3)
                        session.add(row)
                    session.add(
                        MentionFailure(
                            mention_id=row.id,
                            organization_id=acme.org.id,
                            tries=2,
                            reason="boom",
                            first_failed_at=row.ingested_at,
                            last_failed_at=row.ingested_at,
                        )
                    )
                    await session.flush()
                continue
            await builders.analysis(
                session,
                row,
                pick.choice(list(Sentiment)),
                pick.sample(watchlists, pick.choice([0, 1, 1, 2])),
                sentiment_score=round(pick.uniform(-1, 1), 3),
                influence=round(pick.random(), 3),
            )
        # The reconciler has checked up to now: the unanalysed are found from its mark (the
        # ones stored since, less the margin) and their failure rows, and must be all of them.
        org = await session.get(Organization, acme.org.id)
        assert org is not None
        org.unanalysed_checked_until = datetime.now(UTC)
        session.add(org)
        theirs = await builders.watchlist(session, rival.org.id, "奶粉")
        loud = await builders.mention(session, rival.org.id, posted_at=T0, views=10**6)
        await builders.analysis(session, loud, Sentiment.NEGATIVE, [theirs])
    return watchlists


async def _raw(sessions: Sessions, statement: str, **parameters: Any) -> list[Any]:
    async with sessions() as session:
        connection = await AsyncSession.connection(session)
        return list((await connection.execute(text(statement), parameters)).all())


def _authors_from(rows: list[Any]) -> dict[str, dict[str, Any]]:
    return {
        author: {
            "mentionCount": count,
            "negativeCount": negative,
            "reachTotal": str(reach),
            "engagementTotal": str(engagement),
            "influence": influence,
            "lastPostedAt": last.isoformat(),
        }
        for author, count, negative, reach, engagement, influence, last in rows
    }


async def test_dashboard_answers_what_the_raw_scans_answered(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    watchlists = await _seed(sessions, acme, rival)
    odd = ODD
    cases = [
        # (since, until, bucket, UTC offset minutes, watchlist)
        (odd, odd + timedelta(hours=24), "HOUR", 0, None),
        (odd, odd + timedelta(hours=24), "FIFTEEN_MINUTES", 345, None),
        (odd, odd + timedelta(hours=10), "MINUTE", -7, None),
        (odd, odd + timedelta(hours=30), "FIVE_MINUTES", 480, watchlists[0]),
        (odd - timedelta(days=1), odd + timedelta(days=2), "DAY", 480, None),
        (odd - timedelta(days=1), odd + timedelta(days=2), "HOUR", 330, watchlists[1]),
        (T0 - timedelta(days=2), T0 + timedelta(days=2), "DAY", 0, None),
        (odd, odd + timedelta(seconds=40), "MINUTE", 0, None),
    ]
    for since, until, bucket, offset, watchlist in cases:
        case = (since, until, bucket, offset, watchlist.name if watchlist else None)
        variables = {
            "since": since.isoformat(),
            "until": until.isoformat(),
            "bucket": bucket,
            "offset": offset,
            "watchlistId": gid("Watchlist", watchlist.id) if watchlist else None,
        }
        body = await gql(acme.auth(Role.VIEWER), VOLUME, variables)
        assert "errors" not in body, body
        answer = body["data"]["dashboard"]

        width = {"MINUTE": 60, "FIVE_MINUTES": 300, "FIFTEEN_MINUTES": 900}.get(bucket)
        width = width or (3600 if bucket == "HOUR" else 86400)
        raw = await _raw(
            sessions,
            RAW_VOLUME,
            org=acme.org.id,
            since=since,
            until=until,
            width=timedelta(seconds=width),
            origin=EPOCH - timedelta(minutes=offset),
            watchlist=watchlist.id if watchlist else None,
        )
        by_start = {row[0]: row[1:] for row in raw}
        assert sum(p["total"] for p in answer["volume"]) == sum(r[1] for r in raw), case
        assert sum(r[1] for r in raw) > 0 or bucket == "MINUTE", case
        for point in answer["volume"]:
            start = datetime.fromisoformat(point["start"])
            total, positive, neutral, negative, average = by_start.get(start, (0, 0, 0, 0, None))
            judged = positive + neutral + negative
            assert (point["total"], point["positive"], point["neutral"], point["negative"]) == (
                total,
                positive,
                neutral,
                negative,
            ), (case, start)
            assert point["unanalyzed"] == total - judged, (case, start)
            if average is None:
                assert point["averageSentimentScore"] is None, (case, start)
            else:
                assert abs(point["averageSentimentScore"] - float(average)) < 1e-9, (case, start)

        shares = await _raw(sessions, RAW_SHARE, org=acme.org.id, since=since, until=until)
        expected_share = {gid("Watchlist", w): (str(c), str(n)) for w, c, n in shares}
        assert {
            s["watchlist"]["id"]: (s["mentionTotal"], s["negativeTotal"])
            for s in answer["shareOfVoice"]
            if s["mentionTotal"] != "0"
        } == expected_share, case

        if watchlist is None:
            authors = _authors_from(
                await _raw(sessions, RAW_AUTHORS, org=acme.org.id, since=since, until=until)
            )
            assert {a.pop("databaseId"): a for a in answer["topAuthors"]} == authors, case


async def test_author_list_answers_what_the_raw_scan_answered(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    await _seed(sessions, acme, rival)
    odd = ODD
    windows: list[tuple[datetime | None, datetime | None]] = [
        (None, None),
        (odd, odd + timedelta(days=3)),
        (odd, None),
        (None, odd + timedelta(days=2)),
        (T0 - timedelta(days=2, hours=8), T0 + timedelta(hours=16)),  # whole days only
    ]
    for since, until in windows:
        filter = {
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
        }
        body = await gql(acme.auth(Role.VIEWER), AUTHORS, {"filter": filter})
        assert "errors" not in body, body
        listed = [edge["node"] for edge in body["data"]["authors"]["edges"]]
        expected = _authors_from(
            await _raw(sessions, RAW_AUTHORS, org=acme.org.id, since=since, until=until)
        )
        assert expected, (since, until)
        assert {a.pop("databaseId"): a for a in listed} == expected, (since, until)


async def test_reach_past_two_to_the_31_comes_as_bigint_and_the_int_field_names_it(
    gql: GraphQL, sessions: Sessions, acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        media = await builders.media_outlet(session, acme.org.id)
        for hours in range(3):
            row = await builders.mention(
                session,
                acme.org.id,
                posted_at=T0 + timedelta(hours=hours),
                author_id=media.id,
                views=2_000_000_000,
                likes=1_000_000_000,
                reposts=500_000_000,
            )
            await builders.analysis(session, row, Sentiment.NEGATIVE)

    wide = await gql(
        acme.auth(Role.VIEWER),
        "{ authors { edges { node { handle reachTotal engagementTotal } } } }",
    )
    assert wide["data"]["authors"]["edges"] == [
        {
            "node": {
                "handle": "财经媒体",
                "reachTotal": "6000000000",
                "engagementTotal": "4500000000",
            }
        }
    ]
    since, until = T0.isoformat(), (T0 + timedelta(days=1)).isoformat()
    top = await gql(
        acme.auth(Role.VIEWER),
        "query($s: DateTime, $u: DateTime) { dashboard(since: $s, until: $u) {"
        " topAuthors(by: REACH) { reachTotal } } }",
        {"s": since, "u": until},
    )
    assert top["data"]["dashboard"]["topAuthors"] == [{"reachTotal": "6000000000"}]

    narrow = await gql(acme.auth(Role.VIEWER), "{ authors { edges { node { reach } } } }")
    assert narrow["data"] is None
    message = narrow["errors"][0]["message"]
    assert "6000000000" in message and "reachTotal" in message and "2027-06-30" in message
