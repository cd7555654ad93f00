"""Row ids: time-ordered across milliseconds, random within one, and at a chosen time."""

import uuid
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from libs.database.tables import Mention
from libs.ids import id_at, new_id


def _millisecond(id_: uuid.UUID) -> int:
    return id_.int >> 80


def test_new_ids_are_version_7_and_ordered_by_their_millisecond() -> None:
    made = [new_id() for _ in range(2_000)]
    assert {id_.version for id_ in made} == {7}
    assert len(set(made)) == len(made)
    stamps = [_millisecond(id_) for id_ in made]
    assert stamps == sorted(stamps)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    assert now_ms - 60_000 < stamps[0] <= stamps[-1] <= now_ms


def test_ids_of_one_millisecond_do_not_count_up() -> None:
    """Two ids made in the same millisecond must not tell how many were made between them:
    a counter would make each id of a millisecond larger than the one before."""
    by_ms: dict[int, list[uuid.UUID]] = {}
    for _ in range(5_000):
        id_ = new_id()
        by_ms.setdefault(_millisecond(id_), []).append(id_)
    pairs = [pair for group in by_ms.values() for pair in pairwise(group)]
    assert len(pairs) > 100, "the machine made too few ids per millisecond to tell"
    rising = sum(1 for a, b in pairs if b.int > a.int) / len(pairs)
    assert 0.35 < rising < 0.65


def test_an_id_at_a_time_carries_that_millisecond() -> None:
    at = datetime(2026, 3, 1, 8, 30, 15, 123_456, tzinfo=UTC)
    made = id_at(at)
    assert made.version == 7
    assert _millisecond(made) == int(at.timestamp() * 1000)
    assert _millisecond(id_at(at + timedelta(milliseconds=1))) == _millisecond(made) + 1


def test_tables_make_their_ids_in_time_order() -> None:
    first = Mention(
        organization_id=uuid.uuid4(),
        source="weibo",
        external_id="a",
        text="x",
        content_hash="0" * 64,
        posted_at=datetime.now(UTC),
    )
    assert first.id.version == 7
