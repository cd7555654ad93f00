"""The gateway's settings: the shared ones plus what only the gateway reads."""

from functools import lru_cache

from pydantic import Field, field_validator

from libs.documents.signing import seed_of
from libs.settings import Settings

# `totalCount` reads at most this many rows (plus one) to count exactly; PostgreSQL's plan
# estimates beyond it.
DEFAULT_EXACT_COUNT_BOUND = 10_000


class GatewaySettings(Settings):
    """Settings of the GraphQL gateway; every field maps to an upper-case variable.

    `command_timeout_seconds` is shared (`libs.settings`): the workers read it too, to keep
    a command's answer in Redis no longer than the gateway waits for it.
    """

    graphql_exact_count_bound: int = Field(
        default=DEFAULT_EXACT_COUNT_BOUND,
        ge=0,
        description=(
            "A list's `totalCount` is counted exactly up to this many rows (reading at most "
            "one more), and estimated by PostgreSQL's planner above it."
        ),
    )

    archive_signing_key: str | None = Field(
        default=None,
        description=(
            "Base64 of the 32-byte Ed25519 seed that signs incident archives "
            "(`python -m gateway.archive.keygen` makes one); placeholders are refused. "
            "Unset in development: a key is generated per process; unset elsewhere: "
            "archives are refused."
        ),
    )

    @field_validator("archive_signing_key")
    @classmethod
    def _signing_key_is_real(cls, value: str | None) -> str | None:
        if value is not None:
            seed_of(value)
        return value


@lru_cache(maxsize=1)
def get_settings() -> GatewaySettings:
    """Return the gateway's settings, read once."""
    return GatewaySettings()
