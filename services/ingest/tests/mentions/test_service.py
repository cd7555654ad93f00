"""Pushing a batch: each item judged on its own, on a rolled-back session."""

import uuid
from typing import Any

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.outcome import Outcome
from libs.database.tables import Mention
from services.ingest.mentions import service
from services.ingest.mentions.schemas import BatchResult
from services.ingest.tests.builders import announced, batch, count_of, mention


async def push(
    session: AsyncSession, organization: uuid.UUID, *items: Any
) -> tuple[BatchResult, Outcome]:
    return await service.push_mentions(session, organization, batch(*items))


async def test_new_mentions_are_announced_in_one_message(
    session: AsyncSession, organization: uuid.UUID
) -> None:
    answer, outcome = await push(session, organization, mention("1"), mention("2"))
    assert [r.status for r in answer.results] == ["accepted", "accepted"]
    assert announced(outcome) == [(organization, [r.id for r in answer.results])]


async def test_duplicate_mention_is_ignored_and_answers_the_existing_id(
    session: AsyncSession, organization: uuid.UUID
) -> None:
    first, first_outcome = await push(session, organization, mention("7"))
    again, again_outcome = await push(session, organization, mention("7"), mention("7"))
    assert [r.status for r in again.results] == ["duplicate", "duplicate"]
    assert {r.id for r in again.results} == {first.results[0].id}
    assert (again.accepted, again.duplicates, again.rejected) == (0, 2, 0)
    assert await count_of(session, Mention, organization) == 1
    assert announced(first_outcome) == [(organization, [first.results[0].id])]
    assert announced(again_outcome) == []  # nothing new, nothing queued


async def test_same_item_twice_in_one_batch_is_one_mention(
    session: AsyncSession, organization: uuid.UUID
) -> None:
    answer, outcome = await push(session, organization, mention("9"), mention("9"))
    assert [r.status for r in answer.results] == ["accepted", "duplicate"]
    assert answer.results[0].id == answer.results[1].id
    assert await count_of(session, Mention, organization) == 1
    assert announced(outcome) == [(organization, [answer.results[0].id])]


async def test_bad_item_is_rejected_with_its_field_without_blocking_the_batch(
    session: AsyncSession, organization: uuid.UUID
) -> None:
    bad_time = mention("b1", posted_at="2026-11-21T08:00:00")  # no time zone
    bad_source = mention("b2", source="myspace")
    bad_followers = mention("b3", author={"handle": "x", "followers": -1})
    answer, _ = await push(
        session, organization, bad_time, mention("ok"), bad_source, bad_followers, "not an object"
    )
    results = answer.results
    assert [r.status for r in results] == [
        "rejected",
        "accepted",
        "rejected",
        "rejected",
        "rejected",
    ]
    assert results[0].errors[0].field == "mentions[0].posted_at"
    assert results[2].errors[0].field == "mentions[2].source"
    assert results[3].errors[0].field == "mentions[3].author.followers"
    assert results[4].errors[0].field == "mentions[4]"
    assert (answer.accepted, answer.duplicates, answer.rejected) == (1, 0, 4)
    assert await count_of(session, Mention, organization) == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"text": "奶粉\x00有问题"}, "text"),
        ({"external_id": "nul\x00"}, "external_id"),
        ({"author": {"handle": "x", "followers": 5_000_000_000}}, "author.followers"),
        ({"metrics": {"views": 2**31}}, "metrics.views"),
        ({"url": "https://weibo.com/" + "x" * 2100}, "url"),
        ({"posted_at": "0001-01-01T00:00:00+08:00"}, "posted_at"),
        ({"posted_at": "2099-01-01T00:00:00+08:00"}, "posted_at"),
    ],
)
async def test_values_the_database_cannot_hold_are_rejected_per_item(
    session: AsyncSession, organization: uuid.UUID, overrides: dict[str, Any], field: str
) -> None:
    answer, _ = await push(session, organization, {**mention("bad"), **overrides}, mention("good"))
    bad, good = answer.results
    assert bad.status == "rejected"
    assert bad.errors[0].field == f"mentions[0].{field}"
    assert good.status == "accepted"
    assert await count_of(session, Mention, organization) == 1
