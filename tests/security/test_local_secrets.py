"""What `crisiswatch up` leaves on the machine is readable by its owner only (finding 13)."""

import stat
import time
from pathlib import Path

import pytest

from crisiswatch import bootstrap
from crisiswatch.bootstrap import Credentials
from crisiswatch.embedded import start_redis
from crisiswatch.launcher import key_lines
from crisiswatch.runtime import data_dir
from libs.settings import Settings

KEYS = Credentials("demo", "cw_admin_secret", "cw_ingest_secret")


def _others_may_read(path: Path) -> bool:
    return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def test_a_new_data_folder_is_private(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    assert data_dir(Settings(crisiswatch_data_dir=folder)) == folder
    assert not _others_may_read(folder)


def test_redis_folder_and_append_only_file_are_private(tmp_path: Path) -> None:
    redis = start_redis(tmp_path / "redis")
    try:
        deadline = time.monotonic() + 10
        while not list((tmp_path / "redis").rglob("*.aof")):
            assert time.monotonic() < deadline, "Redis wrote no append-only file"
            time.sleep(0.05)
        files = [p for p in (tmp_path / "redis").rglob("*") if not p.is_socket()]
        readable = [str(p) for p in files if _others_may_read(p)]
    finally:
        redis.stop()
    assert not _others_may_read(tmp_path / "redis")
    assert any(p.suffix == ".aof" for p in files)
    assert readable == []


def test_the_keys_file_is_never_readable_by_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file written with the default mode and restricted afterwards is open in between:
    # with the later chmod out of the way, the file must already be private.
    monkeypatch.setattr(Path, "chmod", lambda self, mode: None)
    path = tmp_path / "credentials.json"
    bootstrap._write(path, KEYS)
    assert not _others_may_read(path)
    bootstrap._write(path, KEYS)  # written again over an existing file
    assert not _others_may_read(path)
    assert "cw_admin_secret" in path.read_text()


def test_up_says_where_the_keys_are_without_printing_them(tmp_path: Path) -> None:
    quiet = "\n".join(key_lines(KEYS, tmp_path / "credentials.json", show=False))
    assert "cw_admin_secret" not in quiet and "cw_ingest_secret" not in quiet
    assert str(tmp_path / "credentials.json") in quiet
    shown = "\n".join(key_lines(KEYS, tmp_path / "credentials.json", show=True))
    assert "cw_admin_secret" in shown and "cw_ingest_secret" in shown
