"""Settings of the analysis service: the shared ones and the analysis worker's own tuning."""

from functools import lru_cache

from pydantic import Field

from libs.settings import Settings


class AnalysisSettings(Settings):
    """Shared settings plus what only the analysis worker reads (ANALYSIS_* variables)."""

    analysis_max_jobs: int = Field(
        default=4,
        ge=1,
        description="How many analysis jobs one worker process runs at once.",
    )
    rescore_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often tiered watchlists are re-decided when nobody posts (one runner).",
    )


@lru_cache(maxsize=1)
def get_settings() -> AnalysisSettings:
    """Return the analysis process's settings, read once."""
    return AnalysisSettings()
