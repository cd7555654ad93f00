"""Row ids that sort by the time they were made (UUIDv7, RFC 9562).

A random id (version 4) lands anywhere in its primary key and in every index that holds it
(a mention's id is in six: its own key, its analysis, its hits, its failure row, its story's
first post, the stories' band keys hold their story's), so each new row dirties a page
chosen at random in each of them. At ten million mentions those indexes are gigabytes: the
pages come from disk, and the first change of each after a checkpoint writes the whole page
to the WAL. Ids that grow with time put every new entry at the right edge of the index,
in pages already in memory, whatever the history's size (in an index the id leads; where
other columns lead, as `(watchlist_id, posted_at, mention_id)`, they decide).

Short forms of an id (file names, drill watchlist names) take its random end: ids made
within about a minute of each other share their first eight hex digits.

The first 48 bits are the creation time in milliseconds, so an id tells roughly when its
row was made; the API shows those times anyway. The other 74 bits are random, every time:
the library's own `uuid7()` counts up within a millisecond, and two ids of one organization
made in the same millisecond would then tell how many others (of any organization) this
process made between them. Passing the time makes it draw fresh random bits instead.
"""

import time
import uuid
from datetime import datetime

from uuid_utils.compat import uuid7


def new_id() -> uuid.UUID:
    """A new row id, in order with the ids made in earlier milliseconds."""
    return uuid7(nanoseconds=time.time_ns())


def id_at(at: datetime) -> uuid.UUID:
    """A row id as if made at `at` (an aware time): for rows loaded with their history
    (benchmarks, imports)."""
    return uuid7(nanoseconds=int(at.timestamp() * 1_000_000) * 1_000)
