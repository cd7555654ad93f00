"""Runtime settings shared by every process, read from the environment.

Each service reads the same two URLs so that the code path against the embedded servers
and against external ones is identical; only the values differ.
"""

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Connection and tuning settings; every field maps to an upper-case environment variable."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/crisiswatch",
        description="PostgreSQL DSN; postgresql:// and postgresql+asyncpg:// both work.",
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        description="Redis DSN; redis:// or unix:// (a socket path).",
    )
    crisiswatch_env: str = Field(
        default="development",
        description="development shows full GraphQL errors; anything else masks them.",
    )
    crisiswatch_data_dir: Path = Field(
        default=Path(".crisiswatch"),
        description="Where `crisiswatch up` keeps embedded PostgreSQL and Redis data.",
    )
    ingest_port: int = 8001
    gateway_port: int = 8000
    bind_host: str = "127.0.0.1"
    command_timeout_seconds: float = Field(
        default=10.0, description="How long the gateway waits for a command's result."
    )
    reconcile_interval_seconds: float = Field(
        default=60.0,
        description="How often ingest re-announces mentions still unanalysed five minutes on.",
    )
    data_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CRISISWATCH_DATA_KEY", "data_key"),
        description=(
            "CRISISWATCH_DATA_KEY: base64 of 32 random bytes that encrypt personal contact "
            "data at rest; `crisiswatch up` creates one in the data folder when unset."
        ),
    )
    rate_limit_per_minute: int = Field(
        default=1200,
        description="Requests per minute each API key may make to GraphQL and REST; 0 = no limit.",
    )
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
    deadline_check_seconds: float = Field(
        default=15.0, description="How often the incidents worker looks for passed deadlines."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
