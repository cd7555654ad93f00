"""The admin commands of the `crisiswatch` CLI, run as a user would, on the real database."""

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.auth.keys import resolve
from libs.contracts.enums import Role
from libs.contracts.messages import MentionIngested
from libs.database.engine import create_engine, session_factory
from libs.database.tables import MentionAnalysis, MentionRollup, Organization, RiskSignal
from libs.database.tables.rollups import EVERY_MENTION
from tests.builders import make_tenant
from tests.fixtures.servers import EMBEDDED_ONLY, Servers


def crisiswatch(
    *args: str, database_url: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CRISISWATCH_DATA_DIR": "/tmp/cw-cli",
        **(extra_env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "crisiswatch", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def role_of(database_url: str, secret: str) -> Role | None:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session:
            principal = await resolve(session, secret)
            return principal.role if principal else None
    finally:
        await engine.dispose()


def test_keys_create_prints_a_working_key_of_the_asked_role(servers: Servers) -> None:
    created = crisiswatch(
        "keys", "create", "--org", "cli-org", "--role", "viewer", database_url=servers.database_url
    )
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("cw_")
    assert asyncio.run(role_of(servers.database_url, secret)) is Role.VIEWER
    assert asyncio.run(role_of(servers.database_url, secret + "x")) is None


def test_keys_create_refuses_an_unknown_role(servers: Servers) -> None:
    refused = crisiswatch(
        "keys", "create", "--org", "cli-org", "--role", "owner", database_url=servers.database_url
    )
    assert refused.returncode == 2
    assert "role" in refused.stderr.lower()


def test_migrate_is_idempotent(servers: Servers) -> None:
    migrated = crisiswatch("migrate", database_url=servers.database_url)
    assert migrated.returncode == 0, migrated.stderr
    assert "latest migration" in migrated.stdout


@EMBEDDED_ONLY
async def test_backtest_prints_the_signals_a_replay_raises(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:
    from services.analysis.tests.builders import deliver, store_crisis

    tenant = await make_tenant(sessions)
    now = datetime.now(UTC)
    watchlist, history, _burst = await store_crisis(sessions, tenant.org.id, now)
    # Only the history is analysed live: the replay still decides on every stored mention.
    await deliver(
        servers, redis, MentionIngested(organization_id=tenant.org.id, mention_ids=history)
    )
    since = (now - timedelta(hours=7)).isoformat()
    until = (now + timedelta(minutes=1)).isoformat()
    args = ("backtest", "--watchlist", str(watchlist.id), "--since", since, "--until", until)
    text_run = await asyncio.to_thread(crisiswatch, *args, database_url=servers.database_url)
    assert text_run.returncode == 0, text_run.stderr
    assert "70 mentions read, 70 matched in range" in text_run.stdout
    assert "-> red" in text_run.stdout and "媒体账号 晨潮新闻 参与" in text_run.stdout

    json_run = await asyncio.to_thread(
        crisiswatch, *args, "--json", database_url=servers.database_url
    )
    report = json.loads(json_run.stdout)
    assert report["signals"][-1]["tier"] == "red"
    async with sessions() as session:
        stored = (await session.exec(select(func.count()).select_from(RiskSignal))).one()
    assert stored == 0  # the history alone raised nothing live, and the replay wrote nothing

    backwards = await asyncio.to_thread(
        crisiswatch, "backtest", "--watchlist", str(watchlist.id), "--since", until,
        "--until", since, database_url=servers.database_url,
    )  # fmt: skip
    assert backwards.returncode == 2 and "--until must be later" in backwards.stderr
    garbled = await asyncio.to_thread(
        crisiswatch, "backtest", "--watchlist", str(watchlist.id), "--since", "yesterday",
        "--until", until, database_url=servers.database_url,
    )  # fmt: skip
    assert garbled.returncode == 2 and "ISO 8601" in garbled.stderr


async def test_jobs_lists_a_dead_letter_and_redrives_it(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    from libs.messaging import dead_letters

    tenant = await make_tenant(sessions)
    lost = MentionIngested(organization_id=tenant.org.id, mention_ids=[tenant.org.id])
    await dead_letters.record(
        sessions,
        consumer="analysis",
        queue=lost.QUEUE,
        job_name=lost.job_name(),
        payload=lost.model_dump(mode="json"),
        error="ValueError: cannot analyse this batch",
    )
    env = {"REDIS_URL": servers.redis_url}
    listed = await asyncio.to_thread(
        crisiswatch, "jobs", "list", database_url=servers.database_url, extra_env=env
    )
    assert listed.returncode == 0, listed.stderr
    assert str(lost.message_id) in listed.stdout and "cannot analyse" in listed.stdout
    sent = await asyncio.to_thread(
        crisiswatch,
        "jobs",
        "redrive",
        str(lost.message_id),
        database_url=servers.database_url,
        extra_env=env,
    )
    assert sent.returncode == 0, sent.stderr
    queued = await redis.zrange(lost.QUEUE, 0, -1)
    assert [job.decode() for job in queued] == [str(lost.message_id)]
    emptied = await asyncio.to_thread(
        crisiswatch, "jobs", "list", database_url=servers.database_url, extra_env=env
    )
    assert "no dead letters" in emptied.stdout
    again = await asyncio.to_thread(
        crisiswatch,
        "jobs",
        "redrive",
        str(tenant.org.id),
        database_url=servers.database_url,
        extra_env=env,
    )
    assert again.returncode == 1 and "no dead letter" in again.stderr


def test_train_sentiment_runs_from_the_command_line_and_is_deterministic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from crisiswatch.cli import app
    from services.analysis.sentiment import corpus

    # A small slice of the pinned corpus keeps the test quick; the command path is the same.
    everything = corpus.corpus()
    small = [*everything[:150], *everything[-150:], *corpus.neutral()[:150]]
    monkeypatch.setattr(corpus, "corpus", lambda folder=None: small)
    runner = CliRunner()
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    for path in (first, second):
        result = runner.invoke(app, ["train-sentiment", "--output", str(path)])
        assert result.exit_code == 0, result.output
    assert first.read_bytes() == second.read_bytes()
    assert "held-out split" in result.output


def test_version_is_printed_from_the_installed_package() -> None:
    from importlib.metadata import version

    from typer.testing import CliRunner

    from crisiswatch.cli import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"crisiswatch {version('crisiswatch')}"


async def test_jobs_lists_failed_mentions_and_redrives_the_given_up(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    from libs.database.engine import transaction
    from libs.database.tables import MentionFailure
    from services.ingest.tests.builders import store_mentions

    tenant = await make_tenant(sessions)
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        spent, retried = await store_mentions(session, tenant.org.id, "spent", "retried")
        for mention_id, reason, given_up in (
            (spent, "given up after 15 tries: ValueError: segmenter cannot read it", now),
            (retried, "not analysed 61 s after it was stored", None),
        ):
            session.add(
                MentionFailure(
                    mention_id=mention_id,
                    organization_id=tenant.org.id,
                    tries=15 if given_up else 1,
                    reason=reason,
                    first_failed_at=now - timedelta(days=3),
                    last_failed_at=now,
                    given_up_at=given_up,
                )
            )
    env = {"REDIS_URL": servers.redis_url}

    async def run(*args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(
            crisiswatch, "jobs", *args, database_url=servers.database_url, extra_env=env
        )

    listed = await run("mentions")
    assert listed.returncode == 0, listed.stderr
    assert f"{spent}  org {tenant.org.id}  tries=15  given up" in listed.stdout
    assert "ValueError: segmenter cannot read it" in listed.stdout
    assert f"{retried}  org {tenant.org.id}  tries=1  retried" in listed.stdout
    only_given_up = await run("mentions", "--given-up")
    assert str(spent) in only_given_up.stdout and str(retried) not in only_given_up.stdout

    refused = await run("redrive-mentions")
    assert refused.returncode == 2 and "--given-up" in refused.stderr
    sent = await run("redrive-mentions", "--given-up")
    assert sent.returncode == 0, sent.stderr
    assert "re-announced 1 mention(s)" in sent.stdout
    jobs = await redis.queued_jobs(queue_name=MentionIngested.QUEUE)
    ours = [job.args[0] for job in jobs if job.args[0]["organization_id"] == str(tenant.org.id)]
    assert [message["mention_ids"] for message in ours] == [[str(spent)]]
    async with sessions() as session:
        row = await session.get(MentionFailure, spent)
        assert row is not None and row.tries == 0 and row.given_up_at is None
    nothing = await run("redrive-mentions", "--given-up")
    assert nothing.returncode == 1 and "no failed mention" in nothing.stderr


def test_retention_set_and_show_an_organizations_window(servers: Servers) -> None:
    created = crisiswatch(
        "keys", "create", "--org", "cli-keep", "--role", "viewer", database_url=servers.database_url
    )
    assert created.returncode == 0, created.stderr
    set_ = crisiswatch(
        "retention", "set", "--org", "cli-keep", "--days", "45", database_url=servers.database_url
    )
    assert set_.returncode == 0, set_.stderr
    shown = crisiswatch("retention", "show", database_url=servers.database_url)
    assert any(line.split() == ["cli-keep", "45"] for line in shown.stdout.splitlines())
    back = crisiswatch(
        "retention", "set", "--org", "cli-keep", "--default", database_url=servers.database_url
    )
    assert back.returncode == 0, back.stderr
    shown = crisiswatch("retention", "show", database_url=servers.database_url)
    assert any(line.split()[:2] == ["cli-keep", "default"] for line in shown.stdout.splitlines())


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--org", "cli-keep", "--days", "0"], "--days"),
        (["--org", "cli-keep"], "--days"),
        (["--org", "no-such-org", "--days", "5"], "--org"),
    ],
)
def test_retention_set_refuses_a_bad_window_naming_the_option(
    servers: Servers, args: list[str], named: str
) -> None:
    refused = crisiswatch("retention", "set", *args, database_url=servers.database_url)
    assert refused.returncode == 2
    assert named in refused.stderr


async def test_time_zone_set_and_show_an_organizations_zone(
    servers: Servers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await make_tenant(sessions, "cli-zone")
    slug = tenant.org.slug
    assert tenant.org.time_zone == "Asia/Shanghai"
    set_ = crisiswatch(
        "time-zone", "set", "--org", slug, "--zone", "Europe/Berlin",
        database_url=servers.database_url,
    )  # fmt: skip
    assert set_.returncode == 0, set_.stderr
    shown = crisiswatch("time-zone", "show", database_url=servers.database_url)
    assert any(line.split() == [slug, "Europe/Berlin"] for line in shown.stdout.splitlines())
    refused = crisiswatch(
        "time-zone", "set", "--org", slug, "--zone", "Mars/Olympus",
        database_url=servers.database_url,
    )  # fmt: skip
    assert refused.returncode == 2 and "--zone" in refused.stderr
    async with sessions() as session:
        stored = await session.get(Organization, tenant.org.id)
    assert stored is not None and stored.time_zone == "Europe/Berlin"


async def test_rollups_rebuild_recounts_a_bulk_load(
    servers: Servers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from gateway.tests import builders

    tenant = await make_tenant(sessions, "cli-rollups")
    posted = datetime(2026, 3, 1, 10, tzinfo=UTC)
    async with sessions() as session:
        for hours in (0, 30):
            row = await builders.mention(
                session, tenant.org.id, posted_at=posted + timedelta(hours=hours), views=7
            )
            # As a bulk load stores it: an analysis the analysis service never counted.
            session.add(
                MentionAnalysis(
                    mention_id=row.id,
                    organization_id=tenant.org.id,
                    posted_at=row.posted_at,
                    sentiment="negative",
                    sentiment_score=-0.5,
                )
            )
        await session.commit()

    async def counted() -> int:
        async with sessions() as session:
            total = await session.exec(
                select(func.coalesce(func.sum(MentionRollup.negative), 0)).where(
                    MentionRollup.organization_id == tenant.org.id,
                    MentionRollup.grain_seconds == 3600,
                    MentionRollup.watchlist_id == EVERY_MENTION,
                )
            )
            return int(total.one())

    assert await counted() == 0
    args = ("rollups", "rebuild", "--org", "cli-rollups", "--since", "2026-03-01T00:00:00")
    rebuilt = await asyncio.to_thread(
        crisiswatch, *args, "--until", "2026-03-03T00:00:00", database_url=servers.database_url
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "rebuilt 2026-03-01 to 2026-03-03" in rebuilt.stdout
    assert await counted() == 2
    again = await asyncio.to_thread(
        crisiswatch, *args, "--until", "2026-03-03T00:00:00", database_url=servers.database_url
    )
    assert again.returncode == 0 and await counted() == 2, again.stderr

    unknown = await asyncio.to_thread(
        crisiswatch, "rollups", "rebuild", "--org", "nobody", "--since", "2026-03-01",
        "--until", "2026-03-02", database_url=servers.database_url,
    )  # fmt: skip
    assert unknown.returncode == 2 and "no organization" in unknown.stderr
