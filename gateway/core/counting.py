"""`totalCount`: exact while a list is small, the planner's estimate once it is not.

`count(*)` over ten million rows reads ten million rows. A list's total is instead counted
with a limit, `SELECT count(*) FROM (SELECT 1 … LIMIT bound + 1)`, which reads at most
`bound` + 1 rows through the same indexes the page uses: at or under the bound it is the
exact figure. Above it the figure comes from `EXPLAIN` of the same filtered select, the row
estimate PostgreSQL plans with (its statistics, kept by autovacuum's ANALYZE), and is said
to be an estimate. Neither runs unless a client selects `totalCount` or
`totalCountIsExact`; selecting both runs one count.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement


@dataclass(frozen=True)
class TotalCount:
    """How many rows a list holds: `exact`, or PostgreSQL's estimate of a larger number."""

    value: int
    exact: bool


class Explain(Executable, ClauseElement):
    """`EXPLAIN (FORMAT JSON)` of a select: its plan, the select itself not run."""

    inherit_cache = False

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement


@compiles(Explain, "postgresql")
def _explain(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


def counted_rows(statement: Select[Any]) -> Select[Any]:
    """Return `statement` selecting a constant (`one`) per row, its order and limit dropped."""
    return (
        statement.with_only_columns(literal_column("1").label("one"), maintain_column_froms=True)
        .order_by(None)
        .limit(None)
    )


async def estimated_rows(connection: AsyncConnection, statement: Select[Any]) -> int:
    """Return the rows PostgreSQL's planner expects `statement` to produce."""
    plan = (await connection.execute(Explain(statement))).scalar_one()
    if isinstance(plan, str):  # asyncpg hands `json` over as text
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


async def count_rows(connection: AsyncConnection, statement: Select[Any], bound: int) -> TotalCount:
    """Count the rows of `statement` exactly up to `bound`, estimate them above it.

    An estimate is never below `bound` + 1, the rows already seen to be there.
    """
    rows = counted_rows(statement)
    limited = select(func.count()).select_from(rows.limit(bound + 1).subquery())
    seen = int((await connection.execute(limited)).scalar_one())
    if seen <= bound:
        return TotalCount(seen, exact=True)
    return TotalCount(max(await estimated_rows(connection, rows), bound + 1), exact=False)


class Counted:
    """A list's total, counted the first time a field asks for it, once per connection."""

    def __init__(self, count: Callable[[], Awaitable[TotalCount]]) -> None:
        self._count = count
        self._running: asyncio.Future[TotalCount] | None = None

    async def result(self) -> TotalCount:
        """Return the total, counting it now if no field asked before."""
        if self._running is None:
            self._running = asyncio.ensure_future(self._count())
        return await self._running
