"""Runtime settings shared by every process, read from the environment.

Each service reads the same two URLs so that the code path against the embedded servers
and against external ones is identical; only the values differ.
"""

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Self

from pydantic import AliasChoices, Field, field_validator
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
    startup_timeout_seconds: float = Field(
        default=180.0,
        gt=0,
        description=(
            "How long `crisiswatch up` waits, from starting the services, for the HTTP "
            "services to answer /readyz and every worker to take jobs; a busy machine's "
            "first imports and connections can take a minute."
        ),
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
    # How long raw mentions and the rollups built from them are kept
    # (`libs.mention_retention`); an organization may set its own mention window.
    retention_mentions_days: int = Field(
        default=0,
        ge=0,
        description=(
            "Days a mention (its text, analysis and watchlist hits) is kept after it was posted, "
            "for organizations without their own `mention_retention_days`; 0 keeps them all."
        ),
    )
    retention_rollups_days: int = Field(
        default=730,
        ge=8,
        description=(
            "Days the rows of each table in RETENTION_ROLLUP_TABLES are kept; at least 8, "
            "the week and a day of quarter-hours a tier decision's history reads (a history "
            "starts at the oldest quarter-hour kept)."
        ),
    )
    retention_story_bands_days: int = Field(
        default=30,
        ge=0,
        description=(
            "Days a story with no new post keeps the quarter of its near-duplicate band keys "
            "kept long (and the rest, if RETENTION_STORY_BANDS_RECENT_HOURS is longer or 0); "
            "after that a copy of its text starts a new story (reposts still join by their "
            "parent). 0 keeps them."
        ),
    )
    retention_story_bands_recent_hours: int = Field(
        default=24,
        ge=0,
        description=(
            "Hours a story with no new post keeps the other three quarters of its band keys; "
            "after that a copy finds it through the long-kept quarter only, and gives it "
            "the rest back. 0 keeps them as long as the rest."
        ),
    )
    retention_rollup_tables: str = Field(
        default="mention_rollup:bucket_at,author_day_rollup:day,watchlist_window_rollup:bucket_at",
        description=(
            "Comma-separated `table:time_column` pairs of per-organization rollup tables the "
            "retention pass prunes after RETENTION_ROLLUPS_DAYS; a table not (yet) in the "
            "schema is skipped."
        ),
    )

    @field_validator("retention_rollup_tables")
    @classmethod
    def _rollups_parse(cls, value: str) -> str:
        """Refuse a malformed pair at start-up: the names go into SQL as identifiers."""
        from libs.mention_retention import parse_rollups

        parse_rollups(value)
        return value

    # Issue 13 finding 5: what one organization's reads may cost, and how long any one SQL
    # statement may hold a pooled connection, per kind of process.
    graphql_max_cost: int = Field(
        default=50_000,
        ge=1,
        description="The most one GraphQL document may cost (docs/graphql.md#cost); refused above.",
    )
    graphql_cost_per_minute: int = Field(
        default=250_000,
        ge=0,
        description="Cost an organization may spend on GraphQL in a sliding minute; 0 = no budget.",
    )
    statement_timeout_gateway_seconds: float = Field(
        default=5.0, ge=0, description="How long one gateway SQL statement may run; 0 = no limit."
    )
    statement_timeout_ingest_seconds: float = Field(
        default=10.0, ge=0, description="How long one ingest SQL statement may run; 0 = no limit."
    )
    statement_timeout_worker_seconds: float = Field(
        default=60.0, ge=0, description="How long one worker SQL statement may run; 0 = no limit."
    )
    # Security review finding 1: private webhook destinations are the operator's choice.
    webhook_private_cidrs: str = Field(
        default="",
        validation_alias=AliasChoices("CRISISWATCH_WEBHOOK_PRIVATE_CIDRS", "webhook_private_cidrs"),
        description=(
            "CRISISWATCH_WEBHOOK_PRIVATE_CIDRS: comma-separated private networks webhooks may "
            "reach (e.g. `10.20.0.0/16,fd12:3456::/48`), for every organization; empty refuses "
            "all. Loopback, link-local and cloud metadata addresses are refused whatever it says."
        ),
    )

    @field_validator("webhook_private_cidrs")
    @classmethod
    def _cidrs_parse(cls, value: str) -> str:
        """Refuse a malformed network at start-up rather than at the first webhook."""
        for item in value.split(","):
            if item.strip():
                ipaddress.ip_network(item.strip())
        return value

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

    # Issue 13, finding 16: data keys are rotated by making a new CRISISWATCH_DATA_KEY the
    # current one and keeping the old ones here until `crisiswatch keys rotate` has run.
    data_keys_previous: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CRISISWATCH_DATA_KEYS_PREVIOUS", "data_keys_previous"),
        description=(
            "CRISISWATCH_DATA_KEYS_PREVIOUS: comma-separated earlier data keys (base64), used "
            "only to read what they sealed; remove one once `crisiswatch keys rotate` reports "
            "nothing left under it."
        ),
    )

    # Issue 13, finding 14: what one organization may hold and push on a shared deployment
    # (`libs.quotas`), and whether the queues are shared fairly between organizations
    # (`libs.messaging.fairness`).
    quota_watchlists_per_organization: int = Field(
        default=500,
        description="Watchlists one organization may hold; 0 = no quota.",
    )
    quota_endpoints_per_organization: int = Field(
        default=50,
        description="Webhook endpoints and chat bots one organization may hold; 0 = no quota.",
    )
    quota_mentions_per_organization_per_minute: int = Field(
        default=120_000,
        description="Mentions and complaints one organization may push a minute; 0 = no quota.",
    )
    quota_mentions_per_organization_per_day: int = Field(
        default=20_000_000,
        description="Mentions and complaints one organization may push a day; 0 = no quota.",
    )
    fair_scheduling: bool = Field(
        default=True,
        description=(
            "Queue each organization's jobs at its fair place, so one organization's backlog "
            "does not delay another's; off: first in, first out."
        ),
    )

    # Issue 14, items 1 and 4: browsers on other origins, and which documents may run.
    cors_allowed_origins: str = Field(
        default="",
        description=(
            "Comma-separated origins whose pages may call the gateway over HTTP and WebSocket, "
            "e.g. `https://console.example.com`; an entry ending in `:*` allows any port "
            "(`http://localhost:*`, what `up` sets); empty allows none (same-origin and "
            "non-browser clients are never affected)."
        ),
    )
    cors_max_age_seconds: int = Field(
        default=3600,
        ge=0,
        description="How long a browser may reuse a CORS preflight's answer (its Max-Age).",
    )
    trusted_documents_only: bool = Field(
        default=False,
        description=(
            "Run only GraphQL documents registered from TRUSTED_DOCUMENTS_MANIFEST; anything "
            "else is refused with PERSISTED_QUERY_NOT_IN_LIST (docs/graphql.md#from-a-browser)."
        ),
    )
    trusted_documents_manifest: str = Field(
        default="",
        description=(
            "Comma-separated paths of persisted-query manifests (Apollo's or Relay's JSON) "
            "whose documents are registered at start."
        ),
    )

    # Traces (docs/tracing.md): off unless an exporter or an endpoint is named. These are the
    # standard OpenTelemetry variables; the exporter reads the rest itself (headers, timeout,
    # compression), the SDK the sampler (`OTEL_TRACES_SAMPLER`) and `OTEL_SERVICE_NAME`.
    otel_sdk_disabled: bool = Field(
        default=False, description="OTEL_SDK_DISABLED: `true` keeps tracing off whatever is set."
    )
    otel_traces_exporter: str = Field(
        default="",
        description=(
            "OTEL_TRACES_EXPORTER: `otlp` (OTLP over HTTP) or `console`; `none` is off. Unset, "
            "tracing is on only if an OTLP endpoint is set (the standard's default is `otlp`)."
        ),
    )
    otel_exporter_otlp_endpoint: str = Field(
        default="", description="OTEL_EXPORTER_OTLP_ENDPOINT: the collector, e.g. http://otel:4318."
    )
    otel_exporter_otlp_traces_endpoint: str = Field(
        default="", description="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: the traces URL itself."
    )

    @property
    def traces_exporter(self) -> str | None:
        """Which exporter the process's spans go to (`otlp`, `console`), or None: not traced."""
        chosen = self.otel_traces_exporter.strip().lower()
        if self.otel_sdk_disabled or chosen == "none":
            return None
        if chosen:
            return chosen
        endpoint = self.otel_exporter_otlp_endpoint or self.otel_exporter_otlp_traces_endpoint
        return "otlp" if endpoint else None

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
