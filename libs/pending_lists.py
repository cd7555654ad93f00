"""GIN indexes' pending lists are emptied by a background loop, not by whichever insert fills them.

A GIN index with `fastupdate` (PostgreSQL's default) appends a new row's entries to a
pending list and moves the list into the index proper once it passes
`gin_pending_list_limit`: the insert that passes it does the moving, inside its own
statement. For the mention text's bigram index (`ix_mention_text_bigrams`, about a hundred
entries per mention) at 4 MB that was some 2,000 mentions' entries spread over a 1.2 GB index at
10 M mentions, one random page each: an ingest push of 20 mentions waited on it for 10 s,
hit its statement timeout and was refused (docs/scale.md). Autovacuum empties the lists too,
but on a large table only after a fifth of it has been inserted again.

So a loop in every worker empties both GIN indexes' lists every `INTERVAL_SECONDS`
(`gin_clean_pending_list`), a few hundred mentions' entries at a time, and migration 0032
raises their limit (`GIN_PENDING_LIST_LIMIT_KB`) so that an insert moves the list only when
the loops have fallen far behind, or cannot run: the function needs the index's owner, and
a loop whose role is not says so once and stops. No lease: ingest keeps accepting while
Redis is away, so the lists must keep being emptied then too, and PostgreSQL already makes
two cleanups of one index take turns (the second waits for the first's cleanup lock and
finds the list empty). A search still reads whatever is pending, so the limit stays a few
seconds of a bulk import rather than minutes.
"""

import logging
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.engine import transaction
from libs.messaging.failures import sqlstate
from libs.messaging.periodic import Periodic

log = logging.getLogger(__name__)

INDEXES: Final = ("ix_mention_text_bigrams", "ix_mention_analysis_watchlists")
"""Every GIN index of the schema (`tests/test_pending_lists.py` checks none is missing)."""

INTERVAL_SECONDS: Final = 10.0

_NOT_OWNER: Final = "42501"  # insufficient_privilege
_CLEAN = text("SELECT gin_clean_pending_list(CAST(:index AS regclass))")
# The move works in batches of `maintenance_work_mem` and drops each batch's pages from the
# list as it goes (index pages, kept whatever becomes of the transaction); small batches
# keep the progress of a pass the statement timeout cuts short, after an outage's backlog.
_BATCHES = text("SET LOCAL maintenance_work_mem = '4MB'")


async def clean_pending_lists(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Move each GIN index's pending entries into the index; return the pages emptied by index.

    One transaction per index, so a long move of one list holds nothing of the other's.
    Inserts meanwhile go on: they append to the list, and one that passes the limit skips the
    move while this one holds the list's cleanup lock.
    """
    emptied = {}
    for index in INDEXES:
        async with transaction(sessions) as session:
            await session.exec(_BATCHES)  # type: ignore[call-overload]
            result = await session.exec(_CLEAN, params={"index": index})  # type: ignore[call-overload]
            emptied[index] = int(result.scalar_one())
    return emptied


class PendingListCleaner(Periodic):
    """Each worker's loop emptying the GIN pending lists, beside the pruners; `refused` says
    whether it stopped because its role does not own the indexes."""

    refused: bool

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, interval: float = INTERVAL_SECONDS
    ) -> None:
        self.refused = False

        async def step() -> None:
            if self.refused:
                return
            try:
                emptied = await clean_pending_lists(sessions)
            except Exception as exc:
                if sqlstate(exc) != _NOT_OWNER:
                    raise
                self.refused = True
                log.warning(
                    "GIN pending lists are left to inserts and autovacuum: this role does not "
                    "own the indexes (%s)",
                    exc,
                )
                return
            if any(emptied.values()):
                log.debug("GIN pending lists emptied: %s pages", emptied)

        super().__init__("GIN pending lists", step, interval=interval)
