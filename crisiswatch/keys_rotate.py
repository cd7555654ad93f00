"""`crisiswatch keys rotate`: seal every stored ciphertext again under the current data key.

Rotating the data key: make the new key CRISISWATCH_DATA_KEY and list the old one in
CRISISWATCH_DATA_KEYS_PREVIOUS on every process, then run this. It walks each sealed column
in batches of rows not yet under the current key (their header names another key, or none:
format 1), opens each value with the key that sealed it and seals it under the current one.
Each batch commits on its own, and a row a service changed meanwhile is left to that change
(its new value is sealed under the current key already), so the command can be stopped and
run again at any time; a run that finds nothing left to do reports zero. Once it reports
nothing left under an old key, that key can be removed from CRISISWATCH_DATA_KEYS_PREVIOUS.

The complaint-id HMAC key is one of the values sealed again (`organization_key`): its bytes
stay, so complaint ids made before the rotation still match a resend after it.
"""

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crisiswatch.runtime import resolved_urls
from libs.data_keys import (
    HEADER_BYTES,
    PREVIOUS_ENV,
    DataKey,
    DataKeyError,
    DecryptionError,
    Purpose,
    reseal,
    row_context,
)
from libs.database.engine import create_engine, session_factory, transaction
from libs.settings import Settings


@dataclass(frozen=True)
class SealedColumn:
    """A column of ciphertexts, each bound to its row and sealed for one purpose."""

    table: str
    column: str
    purpose: Purpose

    @property
    def name(self) -> str:
        """`table.column`, as the report prints it."""
        return f"{self.table}.{self.column}"


SEALED_COLUMNS = (
    SealedColumn("complaint", "contacts_cipher", Purpose.COMPLAINT_CONTACTS),
    SealedColumn("affected_user", "contact_cipher", Purpose.AFFECTED_USER_CONTACT),
    SealedColumn("webhook_endpoint", "secret_cipher", Purpose.ENDPOINT_SECRET),
    SealedColumn("webhook_endpoint", "previous_secret_cipher", Purpose.ENDPOINT_SECRET),
    SealedColumn("organization_key", "key_cipher", Purpose.ORGANIZATION_KEY),
)
"""Every stored ciphertext; `tests/security/test_data_keys.py` checks no `*_cipher` is missing."""


@dataclass
class ColumnReport:
    """What one run did to one column."""

    column: str
    already_current: int = 0
    resealed: int = 0
    changed_meanwhile: int = 0
    unreadable: list[uuid.UUID] = field(default_factory=list)
    remaining: int = 0

    def line(self, key_id: str) -> str:
        """The report's line for this column."""
        text = (
            f"{self.column}: {self.resealed} sealed again under key {key_id}, "
            f"{self.already_current} already were"
        )
        if self.changed_meanwhile:
            text += f", {self.changed_meanwhile} changed by a service meanwhile"
        if self.unreadable:
            text += f", {len(self.unreadable)} unreadable (rows {_ids(self.unreadable)})"
        if self.remaining:
            text += f"; {self.remaining} still under another key"
        return text


@dataclass
class RotationReport:
    """What one run did; `done` when nothing is left under another key."""

    key_id: str
    columns: list[ColumnReport]

    @property
    def resealed(self) -> int:
        """Ciphertexts sealed again in this run."""
        return sum(column.resealed for column in self.columns)

    @property
    def remaining(self) -> int:
        """Ciphertexts still under another key after this run (unreadable or written meanwhile
        by a process that still seals under an old key)."""
        return sum(column.remaining for column in self.columns)


async def rotate(
    sessions: async_sessionmaker[AsyncSession],
    key: DataKey,
    *,
    batch_size: int = 500,
    say: Callable[[str], None] = lambda _: None,
) -> RotationReport:
    """Seal every stored ciphertext under `key`'s current master; safe to run again."""
    columns = []
    for sealed in SEALED_COLUMNS:
        report = await _rotate_column(sessions, key, sealed, batch_size)
        say(report.line(key.key_id))
        columns.append(report)
    return RotationReport(key.key_id, columns)


async def _rotate_column(
    sessions: async_sessionmaker[AsyncSession],
    key: DataKey,
    sealed: SealedColumn,
    batch_size: int,
) -> ColumnReport:
    report = ColumnReport(sealed.name)
    table, column = sealed.table, sealed.column  # names from SEALED_COLUMNS, never input
    present = f"{column} IS NOT NULL AND octet_length({column}) > 0"
    count = f"SELECT count(*) FROM {table} WHERE {present} AND {_header(column)} "
    async with transaction(sessions) as session:
        connection = await session.connection()
        counted = await connection.execute(text(count + "= :header"), {"header": key.header})
        report.already_current = counted.scalar_one()
    after = uuid.UUID(int=0)
    while True:
        async with transaction(sessions) as session:
            connection = await session.connection()
            found = await connection.execute(
                text(
                    f"SELECT id, organization_id, {column} FROM {table} "
                    f"WHERE id > :after AND {present} AND {_header(column)} <> :header "
                    "ORDER BY id LIMIT :limit"
                ),
                {"after": after, "header": key.header, "limit": batch_size},
            )
            rows = found.all()
            for row_id, organization_id, blob in rows:
                await _reseal_row(connection, key, sealed, report, row_id, organization_id, blob)
        if len(rows) < batch_size:
            break
        after = rows[-1][0]
    async with transaction(sessions) as session:
        connection = await session.connection()
        counted = await connection.execute(text(count + "<> :header"), {"header": key.header})
        report.remaining = counted.scalar_one()
    return report


async def _reseal_row(
    connection: AsyncConnection,
    key: DataKey,
    sealed: SealedColumn,
    report: ColumnReport,
    row_id: uuid.UUID,
    organization_id: uuid.UUID,
    blob: bytes,
) -> None:
    context = row_context(organization_id, row_id, sealed.purpose)
    try:
        fresh = reseal(key, bytes(blob), context)
    except DecryptionError:
        report.unreadable.append(row_id)
        return
    updated = await connection.execute(
        text(
            f"UPDATE {sealed.table} SET {sealed.column} = :fresh "
            f"WHERE id = :id AND {sealed.column} = :old"
        ),
        {"fresh": fresh, "id": row_id, "old": bytes(blob)},
    )
    if updated.rowcount == 1:
        report.resealed += 1
    else:
        report.changed_meanwhile += 1


def _header(column: str) -> str:
    """SQL for a ciphertext's header: its format byte and the sealing key's id."""
    return f"substring({column} from 1 for {HEADER_BYTES})"


def _ids(ids: list[uuid.UUID]) -> str:
    shown = ", ".join(str(row_id) for row_id in ids[:5])
    return shown + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


def run(settings: Settings, *, batch_size: int, say: Callable[[str], None]) -> int:
    """Rotate against the configured (or running system's) database; 0 when nothing is left."""
    database_url, _ = resolved_urls(settings)
    try:
        key = DataKey.from_settings(_with_local_key(settings))
    except DataKeyError as error:
        say(f"keys rotate: {error}")
        return 2

    async def rotating() -> RotationReport:
        engine = create_engine(database_url, pool_size=1)
        try:
            return await rotate(session_factory(engine), key, batch_size=batch_size, say=say)
        finally:
            await engine.dispose()

    report = asyncio.run(rotating())
    if report.remaining:
        say(f"{report.remaining} ciphertexts are still under another key: see above, run again")
        return 1
    say(
        f"everything is sealed under key {report.key_id}; "
        f"keys in {PREVIOUS_ENV} are no longer needed"
    )
    return 0


def _with_local_key(settings: Settings) -> Settings:
    """`crisiswatch up` keeps its key in the data folder when CRISISWATCH_DATA_KEY is unset."""
    if settings.data_key:
        return settings
    local = settings.crisiswatch_data_dir.expanduser() / "data.key"
    if not local.exists():
        return settings
    return settings.model_copy(update={"data_key": local.read_text().strip()})
