"""The incidents worker's own settings, beside the connection settings every process shares."""

from functools import lru_cache

from pydantic import Field

from libs.settings import Settings


class IncidentsSettings(Settings):
    """What only the incidents worker reads; every field maps to an upper-case variable."""

    deadline_check_seconds: float = Field(
        default=15.0, description="How often the incidents worker looks for passed deadlines."
    )
    incidents_max_jobs: int = Field(
        default=4, description="How many messages the incidents worker applies at once."
    )

    @classmethod
    def extending(cls, shared: Settings) -> "IncidentsSettings":
        """Return `shared` with this worker's own fields added from the environment.

        Only what `shared` was given (by its caller or its environment) is carried over; the
        rest is read here, as if this class had read the settings in the first place.
        """
        if isinstance(shared, cls):
            return shared
        return cls(**shared.model_dump(exclude_unset=True))


@lru_cache(maxsize=1)
def get_settings() -> IncidentsSettings:
    """Return the incidents worker's settings, read once."""
    return IncidentsSettings()
