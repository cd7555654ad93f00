"""Finding 2: names, contacts and secrets are never in clear outside the encrypted columns.

The war-room flow that handles them (an affected user with a name and a phone, a webhook
endpoint and its rotated secret, a chat bot with its platform's signing secret) runs through
the real gateway and the real workers on a Redis that keeps an append-only file. Then every
column of every PostgreSQL table, every Redis key and value, and the file on disk (the
history of every write, deleted keys included) are searched for each clear value.
"""

import json
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from arq.connections import ArqRedis
from arq.constants import result_key_prefix
from arq.jobs import Job
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crisiswatch.embedded import EmbeddedRedis, start_redis
from gateway.core.errors import Conflict
from gateway.tests.conftest import gid
from gateway.tests.war_room_ops import OPS
from gateway.webhooks.mutations import _shown_before
from libs.contracts.enums import ContactKind, EventType, Role
from libs.contracts.messages import (
    ANALYSIS_QUEUE,
    Command,
    CommandResult,
    CreateWatchlist,
    MentionIngested,
)
from libs.contracts.notify import CreateWebhookEndpoint
from libs.contracts.response import AddAffectedUser
from libs.database.tables import MessageReceipt, WebhookEndpoint
from libs.messaging import outbox
from libs.messaging.publisher import publish
from libs.messaging.sealing import (
    SealingError,
    open_answer,
    open_payload,
    seal_message,
    withhold,
)
from libs.messaging.worker import RESULT_MARGIN_SECONDS, Outcome, Route, Runtime, WorkerSpec
from libs.privacy import DataKey, generate_key
from libs.settings import Settings
from services.notify.config import NotifySettings
from services.notify.worker import create_worker as notify_worker
from tests.builders import Sessions, Tenant, make_tenant
from tests.fixtures.servers import Servers
from tests.fixtures.workers import settled
from tests.gateway.builders import System, running_system, war_room

HOOK = "https://93.184.215.14/hook"
NAME = "欧阳明月"
PHONE = "139 1234 5678"


@pytest.fixture
def redis_on_disk() -> Iterator[tuple[EmbeddedRedis, Path]]:
    """A Redis of this test's own keeping an append-only file, as `crisiswatch up` runs it,
    and the folder it writes in."""
    root = Path(tempfile.mkdtemp(prefix="cwt-aof-", dir="/tmp"))
    redis = start_redis(root, persistent=True)
    try:
        yield redis, root
    finally:
        redis.stop()
        shutil.rmtree(root, ignore_errors=True)


async def _send(
    system: System, owner: Tenant, role: Role, field: str, variables: dict[str, Any]
) -> dict[str, Any]:
    result = await system.mutate(owner, role, OPS[field].document, variables)
    assert "message" not in result, result
    return result


async def _war_room_with_secrets(system: System) -> dict[str, str]:
    """Run the flow through the gateway; return each clear value it handled, by what it is."""
    room = await war_room(system, "secrets")
    owner = room.tenant
    person = {
        "incidentId": gid("Incident", room.incident),
        "name": NAME,
        "contactKind": "PHONE",
        "contact": PHONE,
    }
    added = await _send(system, owner, Role.RESPONDER, "addAffectedUser", {"input": person})
    assert added["contactMasked"] == "139****5678"
    hook = {"name": "工单系统", "url": HOOK, "eventTypes": ["INCIDENT_OPENED"]}
    created = await _send(system, owner, Role.ADMIN, "createWebhookEndpoint", {"input": hook})
    endpoint = gid("WebhookEndpoint", created["endpoint"]["databaseId"])
    rotated = await _send(system, owner, Role.ADMIN, "rotateWebhookSecret", {"id": endpoint})
    signing = "SEC" + secrets.token_hex(32)
    bot = {
        "name": "钉钉值班群",
        "kind": "DINGTALK",
        "url": HOOK,
        "eventTypes": ["TASK_OVERDUE"],
        "secret": signing,
    }
    await _send(system, owner, Role.ADMIN, "createWebhookEndpoint", {"input": bot})
    await settled(system.sessions, system.redis, owner.org.id)
    issued, again = str(created["secret"]), str(rotated["secret"])
    assert issued.startswith("whsec_") and again.startswith("whsec_") and issued != again
    return {
        "name": NAME,
        "given name": NAME[2:],
        "phone as typed": PHONE,
        "phone": PHONE.replace(" ", ""),
        "webhook secret": issued,
        "its random part": issued.removeprefix("whsec_"),
        "rotated secret": again,
        "its random part, rotated": again.removeprefix("whsec_"),
        "chat bot signing secret": signing,
    }


def _found(clear: dict[str, str], where: str, blob: bytes) -> list[str]:
    """Name each clear value in `blob`, as UTF-8 or, for bytea shown as hex, as its hex."""
    hits = []
    for what, value in clear.items():
        raw = value.encode()
        if raw in blob or raw.hex().encode() in blob:
            hits.append(f"{what} in {where}")
    return hits


async def _in_postgres(engine: AsyncEngine, clear: dict[str, str]) -> list[str]:
    """Search every row of every table, each row read whole as JSON (bytea as hex)."""
    hits: list[str] = []
    async with engine.connect() as conn:
        tables = await conn.execute(
            text(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_type = 'BASE TABLE' "
                "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
            )
        )
        for schema, table in tables.all():
            rows = await conn.execute(text(f'SELECT to_jsonb(t)::text FROM "{schema}"."{table}" t'))
            for (row,) in rows.all():
                hits += _found(clear, f"{schema}.{table}", row.encode())
    return hits


async def _in_redis(url: str, clear: dict[str, str]) -> list[str]:
    """Search every key and every value of every kind, in every database that holds keys."""
    hits: list[str] = []
    async with Redis.from_url(url) as admin:
        databases = [int(name.removeprefix("db")) for name in await admin.info("keyspace")]
    for db in databases:
        async with Redis.from_url(url, db=db) as redis:
            async for key in redis.scan_iter(count=500):
                kind = (await redis.type(key)).decode()
                parts: list[Any] = [key]
                if kind == "string":
                    parts.append(await redis.get(key))
                elif kind == "hash":
                    parts += [item for pair in (await redis.hgetall(key)).items() for item in pair]
                elif kind == "zset":
                    parts += await redis.zrange(key, 0, -1)
                elif kind == "list":
                    parts += await redis.lrange(key, 0, -1)
                elif kind == "set":
                    parts += list(await redis.smembers(key))
                elif kind == "stream":
                    parts += [repr(entry).encode() for entry in await redis.xrange(key)]
                blob = b"\n".join(part for part in parts if isinstance(part, bytes))
                hits += _found(clear, f"redis db{db} {key.decode(errors='replace')}", blob)
    return hits


def _in_files(folder: Path, clear: dict[str, str]) -> list[str]:
    """Search the append-only file (and anything else Redis wrote) byte for byte."""
    hits: list[str] = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_socket():
            hits += _found(clear, str(path.relative_to(folder)), path.read_bytes())
    return hits


async def test_names_contacts_and_secrets_are_nowhere_in_clear(
    servers: Servers, engine: AsyncEngine, redis_on_disk: tuple[EmbeddedRedis, Path]
) -> None:
    disk, folder = redis_on_disk
    async with Redis.from_url(disk.url) as admin:
        # Every write reaches the file before it is answered, and stays in readable form.
        await admin.config_set("appendfsync", "always")
        await admin.config_set("aof-use-rdb-preamble", "no")
    on_disk = Servers(servers.name, servers.database_url, disk.url)
    async with running_system(on_disk, engine) as system:
        clear = await _war_room_with_secrets(system)
        hits = await _in_postgres(engine, clear)
        hits += await _in_redis(disk.url, clear)
    disk.stop()  # flushes and closes the append-only file
    aof = folder / "appendonly.aof"
    assert aof.exists() and aof.stat().st_size > 0, sorted(folder.iterdir())
    hits += _in_files(folder, clear)
    assert not hits, "found in clear:\n" + "\n".join(hits)


async def _drain_notify(settings: Settings) -> None:
    worker = notify_worker(settings, burst=True, handle_signals=False)
    await worker.main()
    await worker.close()


async def _answer(redis: ArqRedis, command: Command) -> CommandResult:
    job = Job(
        str(command.message_id),
        redis,
        _queue_name=command.QUEUE,
        _deserializer=redis.job_deserializer,
    )
    return CommandResult.model_validate(await job.result(timeout=5))


async def test_a_copy_of_a_command_whose_answer_was_lost_shows_no_secret_and_mints_none(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    settings = NotifySettings(
        database_url=servers.database_url, redis_url=servers.redis_url, data_key=generate_key()
    )
    key = DataKey.from_base64(str(settings.data_key))
    owner = await make_tenant(sessions, "copies")
    command = CreateWebhookEndpoint(
        organization_id=owner.org.id,
        actor="key-admin",
        name="工单",
        url=HOOK,
        event_types=[EventType.INCIDENT_OPENED],
    )
    await publish(redis, command, key=key)
    await _drain_notify(settings)
    first = await _answer(redis, command)
    # On the queue the secret is sealed; the sender opens it.
    assert not first.once["secret"].startswith("whsec_")
    issued = open_answer(first, command, key).once["secret"]
    assert issued.startswith("whsec_")

    # The answer is lost (Redis restarted, or the sender gave up) and the command comes again.
    await redis.delete(result_key_prefix + str(command.message_id))
    await publish(redis, command, key=key)
    await _drain_notify(settings)
    again = await _answer(redis, command)

    assert again.ok and again.once == {} and again.withheld == ["secret"]
    async with sessions() as session:
        endpoints = (await session.exec(select(WebhookEndpoint))).all()
        receipt = await session.get(MessageReceipt, ("notify", command.message_id))
    assert len(endpoints) == 1  # applied once: no second secret was minted
    assert receipt is not None and receipt.result is not None
    assert issued not in json.dumps(receipt.result)
    assert receipt.result["withheld"] == ["secret"]


async def test_answers_are_kept_only_while_their_sender_waits(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    async def answer(runtime: Runtime, session: AsyncSession, command: CreateWatchlist) -> Outcome:
        return Outcome.answer(CommandResult.success(name=command.name))

    async def note(runtime: Runtime, session: AsyncSession, event: MentionIngested) -> Outcome:
        return Outcome()

    owner = await make_tenant(sessions, "waits")
    command = CreateWatchlist(
        organization_id=owner.org.id, actor="t", name="奶粉", keywords=["奶粉"]
    )
    event = MentionIngested(organization_id=owner.org.id, mention_ids=[uuid.uuid4()])
    settings = Settings(
        database_url=servers.database_url, redis_url=servers.redis_url, command_timeout_seconds=2
    )
    routes: list[Route[Runtime, Any]] = [
        Route(CreateWatchlist, answer),
        Route(MentionIngested, note),
    ]
    spec = WorkerSpec("waits", ANALYSIS_QUEUE, routes)
    for message in (command, event):
        await publish(redis, message)
    worker = spec.build(settings, handle_signals=False, burst=True)
    await worker.main()
    await worker.close()

    kept = await redis.pttl(result_key_prefix + str(command.message_id))
    assert 0 < kept <= (2 + RESULT_MARGIN_SECONDS) * 1000
    assert not await redis.exists(result_key_prefix + str(event.message_id))
    async with sessions() as session:
        receipts = (await session.exec(select(MessageReceipt.message_id))).all()
    # The receipts, not the results, make a late copy of either a no-op.
    assert set(receipts) == {command.message_id, event.message_id}


def test_a_sealed_value_opens_only_in_its_own_message_and_never_travels_without_a_key() -> None:
    key = DataKey.from_base64(generate_key())
    added = AddAffectedUser(
        organization_id=uuid.uuid4(),
        actor="key-cs",
        incident_id=uuid.uuid4(),
        name=NAME,
        contact_kind=ContactKind.PHONE,
        contact=PHONE,
    )
    payload = seal_message(added, key)
    assert NAME not in json.dumps(payload, ensure_ascii=False)
    assert PHONE not in json.dumps(payload, ensure_ascii=False)
    assert AddAffectedUser.model_validate(open_payload(AddAffectedUser, payload, key)) == added

    for moved in (
        {**payload, "message_id": str(uuid.uuid4())},
        {**payload, "organization_id": str(uuid.uuid4())},
        {**payload, "contact": payload["name"]},
    ):
        with pytest.raises(SealingError, match="does not open"):
            open_payload(AddAffectedUser, moved, key)
    with pytest.raises(SealingError, match="does not open"):
        open_payload(AddAffectedUser, payload, DataKey.from_base64(generate_key()))
    with pytest.raises(SealingError, match="CRISISWATCH_DATA_KEY is not set"):
        seal_message(added, None)


def test_a_replayed_answer_tells_the_client_to_rotate_instead_of_showing_a_secret() -> None:
    endpoint_id = uuid.uuid4()
    fresh = CommandResult.success(endpoint={"id": str(endpoint_id)}).showing_once(secret="whsec_x")
    replayed = CommandResult.model_validate(withhold(fresh.model_dump(mode="json")))

    assert replayed.once == {} and replayed.withheld == ["secret"]
    assert _shown_before(fresh, endpoint_id, "issued") is None
    refused = _shown_before(replayed, endpoint_id, "issued")
    assert isinstance(refused, Conflict) and refused.field == "secret"
    assert "shown only once" in refused.message and "Rotate the secret" in refused.message


def test_a_sealed_value_is_never_staged_in_the_outbox() -> None:
    # The outbox keeps payloads in PostgreSQL; a message carrying a sealed value is refused
    # there rather than stored in clear (such commands travel sealed through `call`).
    added = AddAffectedUser(
        organization_id=uuid.uuid4(),
        actor="key-cs",
        incident_id=uuid.uuid4(),
        name=NAME,
        contact_kind=ContactKind.PHONE,
        contact=PHONE,
    )
    session = _NoSession()
    with pytest.raises(SealingError):
        outbox.add(session, "gateway", added)  # type: ignore[arg-type]
    assert session.added == []


class _NoSession:
    """Records what would be staged; the refusal must come before anything is."""

    def __init__(self) -> None:
        self.added: list[object] = []

    def add(self, row: object) -> None:
        self.added.append(row)
