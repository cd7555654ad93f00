"""The incidents worker's own settings, beside the connection settings every process shares."""

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

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
    quiet_period_check_seconds: float = Field(
        default=15.0,
        gt=0,
        description="How often incidents are checked for a quiet period to start or end.",
    )
    situation_reports_enabled: bool = Field(
        default=True,
        description="Whether the incidents worker drafts situation reports as they fall due.",
    )
    situation_report_check_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often open incidents are checked for a situation report that is due.",
    )
    forecast_check_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often open incidents are forecast against their first statement.",
    )
    incidents_max_jobs: int = Field(
        default=4, description="How many messages the incidents worker applies at once."
    )
    risk_check_enabled: bool = Field(
        default=True, description="Whether the incidents worker runs the daily risk check."
    )
    risk_check_hour: int = Field(
        default=9,
        ge=0,
        le=23,
        description="The hour of the local day from which the daily risk check runs.",
    )
    risk_check_time_zone: str = Field(
        default="Asia/Shanghai",
        description=(
            "The IANA time zone whose day and hour the daily risk check follows "
            "(organizations have no time zone of their own)."
        ),
    )
    risk_check_poll_seconds: float = Field(
        default=60.0, gt=0, description="How often the incidents worker looks for due checks."
    )

    @field_validator("risk_check_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"RISK_CHECK_TIME_ZONE: unknown time zone {value!r}") from exc
        return value


@lru_cache(maxsize=1)
def get_settings() -> IncidentsSettings:
    """Return the incidents worker's settings, read once."""
    return IncidentsSettings()
