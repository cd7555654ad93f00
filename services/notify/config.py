"""The notify worker's settings: the shared ones plus its own, read from the environment."""

from functools import lru_cache

from pydantic import Field

from libs.settings import Settings


class NotifySettings(Settings):
    """Settings of the notify worker; every field maps to an upper-case environment variable."""

    console_url: str | None = Field(
        default=None,
        description=(
            "Base URL of the war-room console's incident pages; chat alerts link to it "
            "(the incident id is appended, or fills a `{incident_id}` placeholder)."
        ),
    )
    webhook_dispatch_seconds: float = Field(
        default=2.0, description="How often the notify worker sends due webhook deliveries."
    )
    notify_max_jobs: int = Field(
        default=4, ge=1, description="How many queue messages the notify worker handles at once."
    )
    webhook_batch_size: int = Field(
        default=50, ge=1, description="How many due deliveries one dispatcher claim leases."
    )
    webhook_concurrency: int = Field(
        default=10, ge=1, description="How many webhook requests the dispatcher has in flight."
    )


@lru_cache(maxsize=1)
def get_settings() -> NotifySettings:
    """Return the notify worker's settings, read once."""
    return NotifySettings()
