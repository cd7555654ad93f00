"""Runtime settings shared by every process, read from the environment.

Each service reads the same two URLs so that the code path against the embedded servers
and against external ones is identical; only the values differ.
"""

from functools import lru_cache
from pathlib import Path
from typing import Self

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
        default="production",
        description=(
            "Only `development`, chosen explicitly, shows unexpected errors in full and serves "
            "GraphiQL, introspection and the API explorers; anything else is production."
        ),
    )

    @property
    def is_development(self) -> bool:
        """Whether development was chosen: the one test for what only a developer may see."""
        return self.crisiswatch_env == "development"

    crisiswatch_data_dir: Path = Field(
        default=Path(".crisiswatch"),
        description="Where `crisiswatch up` keeps embedded PostgreSQL and Redis data.",
    )
    ingest_port: int = 8001
    gateway_port: int = 8000
    bind_host: str = "127.0.0.1"
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

    # How long the messaging ledgers keep rows (`libs.messaging.retention`).
    retention_receipts_days: int = Field(
        default=7,
        ge=1,
        description="Days a message receipt is kept: the window in which a copy is still a no-op.",
    )
    retention_published_outbox_days: int = Field(
        default=2,
        ge=2,
        description="Days a published outbox row is kept; at least the confirmation window.",
    )
    retention_redriven_dead_letters_days: int = Field(
        default=30, ge=1, description="Days a dead letter is kept after it was sent again."
    )

    @classmethod
    def extending(cls, shared: "Settings") -> Self:
        """Return `shared` as this service's settings, its own fields read from the environment.

        The command line and the tests build every process from the shared settings; what
        `shared` was given (by its caller or its environment) stands, and what only the
        service knows is read as if this class had read the settings in the first place.
        """
        if isinstance(shared, cls):
            return shared
        return cls(**shared.model_dump(exclude_unset=True))

    # Issue 13, finding 8: budgets per organization and per client address beside the
    # per-key one (`rate_limit_per_minute`), and a cap on each key's open WebSockets.
    rate_limit_per_organization_per_minute: int = Field(
        default=3000,
        description="Requests per minute an organization's keys may make together; 0 = no limit.",
    )
    rate_limit_per_address_per_minute: int = Field(
        default=3000,
        description=(
            "Requests per minute from one client address, whatever key they carry (unknown "
            "keys too); 0 = no limit."
        ),
    )
    websockets_per_key: int = Field(
        default=20,
        description="WebSockets one key may hold open on each gateway process; 0 = no cap.",
    )

    # Issue 13, finding 2: a command's answer is kept in Redis only while its sender waits.
    # The gateway waits this long; every worker keeps a command's result this long plus a
    # margin (`libs.messaging.worker`), and an event's not at all.
    command_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description=(
            "How long the gateway waits for a command's answer; workers keep the answer in "
            "Redis only that long plus a few seconds."
        ),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
