"""The gateway's settings: the shared ones plus what only the gateway reads."""

from functools import lru_cache

from pydantic import Field

from libs.settings import Settings


class GatewaySettings(Settings):
    """Settings of the GraphQL gateway; every field maps to an upper-case variable."""

    command_timeout_seconds: float = Field(
        default=10.0, description="How long the gateway waits for a command's result."
    )


@lru_cache(maxsize=1)
def get_settings() -> GatewaySettings:
    """Return the gateway's settings, read once."""
    return GatewaySettings()
