"""The incidents worker's own settings, beside the connection settings every process shares."""

from functools import lru_cache

from pydantic import Field

from libs.settings import Settings


class IncidentsSettings(Settings):
    """What only the incidents worker reads; every field maps to an upper-case variable."""

    deadline_check_seconds: float = Field(
        default=15.0, description="How often the incidents worker looks for passed deadlines."
    )
    snooze_check_seconds: float = Field(
        default=15.0,
        gt=0,
        description="How often ended snoozes are checked for a crisis they held back.",
    )
    incidents_max_jobs: int = Field(
        default=4, description="How many messages the incidents worker applies at once."
    )


@lru_cache(maxsize=1)
def get_settings() -> IncidentsSettings:
    """Return the incidents worker's settings, read once."""
    return IncidentsSettings()
