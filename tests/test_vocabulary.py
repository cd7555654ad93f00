"""The shared vocabulary labels every member, and its rules hold in Python and SQL alike."""

import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts import vocabulary
from libs.contracts.enums import IncidentStatus, TaskStatus
from libs.database.predicates import task_overdue
from libs.database.tables import ResponseTask
from tests.builders import incident, organization, response_task, watchlist

LABELS: list[tuple[str, dict[StrEnum, str]]] = [
    (name, value)
    for name, value in vars(vocabulary).items()
    if isinstance(value, dict) and name.isupper()
]


@pytest.mark.parametrize(("name", "labels"), LABELS, ids=[name for name, _ in LABELS])
def test_every_member_has_a_label(name: str, labels: dict[StrEnum, str]) -> None:
    enum = type(next(iter(labels)))
    assert set(labels) == set(enum), f"{name} misses {set(enum) - set(labels)}"
    assert all(label.strip() for label in labels.values())


def test_open_and_closed_statuses_split_every_status() -> None:
    assert set(IncidentStatus) == vocabulary.OPEN_STATUSES | vocabulary.CLOSED_STATUSES
    assert not vocabulary.OPEN_STATUSES & vocabulary.CLOSED_STATUSES
    assert vocabulary.FINAL_STATUSES <= vocabulary.CLOSED_STATUSES


NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
CASES = [
    (status, due, breached)
    for status in TaskStatus
    for due in (NOW - timedelta(minutes=1), NOW + timedelta(minutes=1))
    for breached in (None, NOW - timedelta(minutes=5))
]


async def test_overdue_means_the_same_in_python_and_in_sql(
    rolled_back: async_sessionmaker[AsyncSession],
) -> None:
    async with rolled_back() as session:
        org = await organization(session)
        wl = await watchlist(session, org)
        inc = await incident(session, org, wl)
        expected: dict[uuid.UUID, bool] = {}
        for status, due, breached in CASES:
            row = await response_task(
                session, inc, f"k-{len(expected)}", due, status=status.value, breached_at=breached
            )
            expected[row.id] = vocabulary.is_overdue(status, due, breached, NOW)
        rows = await session.exec(
            select(col(ResponseTask.id), task_overdue(NOW)).where(
                col(ResponseTask.incident_id) == inc.id
            )
        )
        assert {task_id: overdue for task_id, overdue in rows.all()} == expected
    assert any(expected.values()) and not all(expected.values())
