"""`crisiswatch rollups rebuild`: recount an organization's rollups from the raw tables.

Used after a bulk load (COPY writes mentions and analyses without the analysis service,
so nothing counted them), after a deletion that did not subtract, and to check the
rollups: a rebuild of correct rollups changes nothing. One transaction per UTC day, so a
long range does not hold one transaction open for its whole length and can be rerun
after an interruption.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text

from libs.database import rollups
from libs.database.engine import create_engine, session_factory, transaction


@dataclass(frozen=True)
class Summary:
    """What a rebuild covered: its days, the rows it wrote for them, and the authors whose
    all-time figures it summed again (every author of the organization)."""

    organization_id: uuid.UUID
    start: datetime
    end: datetime
    bucket_rows: int
    author_day_rows: int
    author_rows: int


DAY = timedelta(days=1)


class UnknownOrganizationError(Exception):
    """No organization has this slug or id."""


async def run(
    database_url: str,
    organization: str,
    since: datetime,
    until: datetime,
    say: Callable[[str], None],
) -> Summary:
    """Rebuild `organization`'s (slug or id) rollups over the UTC days holding [since, until)."""
    engine = create_engine(database_url, pool_size=1)
    try:
        factory = session_factory(engine)
        async with transaction(factory) as session:
            found = await session.execute(
                text("SELECT id FROM organization WHERE slug = :name OR id::text = :name"),
                {"name": organization},
            )
            organization_id = found.scalar_one_or_none()
        if organization_id is None:
            raise UnknownOrganizationError(organization)
        start, end = rollups.whole_days(since, until)
        day = start
        buckets = author_days = 0
        while day < end:
            async with transaction(factory) as session:
                rebuilt = await rollups.rebuild_days(session, organization_id, day, day + DAY)
            buckets += rebuilt.bucket_rows
            author_days += rebuilt.author_day_rows
            say(
                f"{day.date()}: {rebuilt.bucket_rows} buckets, "
                f"{rebuilt.author_day_rows} author days"
            )
            day += DAY
        async with transaction(factory) as session:
            authors = await rollups.rebuild_author_totals(session, organization_id)
        async with transaction(factory) as session:
            await rollups.analyze(session)
        say(f"all time: {authors} authors")
        return Summary(organization_id, start, end, buckets, author_days, authors)
    finally:
        await engine.dispose()
