"""`crisiswatch up` keeps the development archive signing key, so archives outlive a restart."""

import stat
from pathlib import Path

import pytest

from crisiswatch.runtime import archive_signing_key
from libs.documents.signing import seed_of
from libs.settings import Settings


def test_the_key_is_made_once_private_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARCHIVE_SIGNING_KEY", raising=False)
    settings = Settings(crisiswatch_data_dir=tmp_path / "data")
    first = archive_signing_key(settings)
    assert archive_signing_key(settings) == first
    assert len(seed_of(first)) == 32
    kept = tmp_path / "data" / "archive-signing.key"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_a_given_key_wins_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = archive_signing_key(Settings(crisiswatch_data_dir=tmp_path / "other"))
    monkeypatch.setenv("ARCHIVE_SIGNING_KEY", given)
    settings = Settings(crisiswatch_data_dir=tmp_path / "data")
    assert archive_signing_key(settings) == given
    assert not (tmp_path / "data" / "archive-signing.key").exists()
