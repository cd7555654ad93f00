"""The incidents worker's own settings, read from the environment beside the shared ones."""

import pytest

from libs.settings import Settings
from services.incidents.config import IncidentsSettings


def test_own_settings_have_their_defaults() -> None:
    settings = IncidentsSettings()
    assert (settings.deadline_check_seconds, settings.incidents_max_jobs) == (15.0, 4)


def test_extending_shared_settings_keeps_them_and_reads_the_own_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEADLINE_CHECK_SECONDS", "2.5")
    monkeypatch.setenv("INCIDENTS_MAX_JOBS", "8")
    monkeypatch.delenv("CRISISWATCH_DATA_KEY", raising=False)
    shared = Settings.model_construct(
        database_url="postgresql://db/one", redis_url="redis://cache/1", data_key="a-key"
    )

    own = IncidentsSettings.extending(shared)

    assert (own.database_url, own.redis_url, own.data_key) == (
        "postgresql://db/one",
        "redis://cache/1",
        "a-key",
    )
    assert (own.deadline_check_seconds, own.incidents_max_jobs) == (2.5, 8)
    assert IncidentsSettings.extending(own) is own
