"""Ingest's settings: the shared ones plus the fields only ingest reads."""

from functools import lru_cache

from pydantic import Field

from libs.settings import Settings


class IngestSettings(Settings):
    """Settings of the ingest HTTP service; every field maps to an upper-case variable."""

    ingest_port: int = 8001
    reconcile_interval_seconds: float = Field(
        default=60.0,
        description="How often ingest re-announces mentions still unanalysed a minute on.",
    )


@lru_cache(maxsize=1)
def get_settings() -> IngestSettings:
    """Return the process-wide ingest settings, read once."""
    return IngestSettings()
