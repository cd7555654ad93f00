"""Runtime settings shared by every process, read from the environment.

Each service reads the same two URLs so that the code path against the embedded servers
and against external ones is identical; only the values differ.
"""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
