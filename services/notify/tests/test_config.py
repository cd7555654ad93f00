"""The notify worker's settings: the shared ones as given, its own from the environment."""

import pytest

from libs.settings import Settings
from services.notify.config import NotifySettings


def test_the_shared_settings_stand_and_notify_reads_its_own_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for unset in ("CONSOLE_URL", "NOTIFY_MAX_JOBS", "WEBHOOK_CONCURRENCY"):
        monkeypatch.delenv(unset, raising=False)
    monkeypatch.setenv("CRISISWATCH_DATA_KEY", "from-the-environment")
    monkeypatch.setenv("WEBHOOK_DISPATCH_SECONDS", "5")
    monkeypatch.setenv("WEBHOOK_BATCH_SIZE", "7")
    shared = Settings(database_url="postgresql://db.example/crisiswatch", data_key=None)

    own = NotifySettings.extending(shared)

    assert own.database_url == "postgresql://db.example/crisiswatch"
    assert own.data_key is None
    assert (own.webhook_dispatch_seconds, own.webhook_batch_size) == (5.0, 7)
    assert (own.notify_max_jobs, own.webhook_concurrency, own.console_url) == (4, 10, None)
    assert NotifySettings.extending(own) is own
