"""Messages that cross service boundaries: frozen, named, versioned, pure pydantic.

A message is queued as `<name>.v<version>` (for example `mention.ingested.v1`) on the queue
of the service that consumes it. `message_id` is the idempotency key: a consumer that sees
the same id twice changes nothing the second time. The JSON Schema of every message is
pinned by a test, so a contract never changes by accident; a breaking change is a new
version. `trace_context` is the one field every message may carry that no consumer acts on:
see `TraceContext`.
"""

import uuid
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from libs.contracts.enums import (
    CrisisType,
    DrillDelivery,
    DrillScenario,
    SensitiveCategory,
    Tier,
    WatchlistKind,
)
from libs.ids import new_id

ANALYSIS_QUEUE = "crisiswatch:analysis"
INCIDENTS_QUEUE = "crisiswatch:incidents"
INGEST_QUEUE = "crisiswatch:ingest"
# Integration events for webhook and chat-alert delivery.
EVENTS_QUEUE = "crisiswatch:events"


class TraceContext(BaseModel):
    """The W3C trace context (`traceparent`, `tracestate`) of the span that staged a message.

    It lets the consumer's span continue the producer's trace across the queue. It is
    additive, not a new version: optional, never read by a handler, and left out of the
    JSON when absent, so a message staged with tracing off (the default) is byte for byte
    the shape it always had. Values are not checked here: a malformed one is ignored by the
    consumer's propagator, never a reason to reject the message.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    traceparent: str
    tracestate: str = ""


SEALED: dict[str, JsonValue] = {"sealed": True}
"""Marks a field (`Field(json_schema_extra=SEALED)`) that crosses Redis only as ciphertext.

Redis keeps a job's arguments until it is done, repeats them in its result and writes both
to its append-only file; a failed message is kept as a dead letter with its payload. So a
name, a contact or a secret in a message is sealed by the sender under the data key and
opened by the consumer's harness just before it validates the message
(`libs.messaging.sealing`): the limits a sealed field declares apply to the clear value,
and on the queue the field holds base64 of the ciphertext.
"""


class Message(BaseModel):
    """Base of every queued message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    NAME: ClassVar[str]
    VERSION: ClassVar[int]
    QUEUE: ClassVar[str]

    message_id: uuid.UUID = Field(default_factory=new_id)
    organization_id: uuid.UUID
    trace_context: TraceContext | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description=(
            "Where the message was staged in a trace (W3C); only when tracing is on. "
            "Consumers must not depend on it."
        ),
    )

    @classmethod
    def job_name(cls) -> str:
        """Return the queued name, e.g. `mention.ingested.v1`."""
        return f"{cls.NAME}.v{cls.VERSION}"

    @classmethod
    def sealed_fields(cls) -> tuple[str, ...]:
        """Return the fields marked `SEALED`, which travel as ciphertext."""
        return tuple(
            name
            for name, info in cls.model_fields.items()
            if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("sealed")
        )


class Command(Message):
    """A message whose sender awaits a `CommandResult`.

    `acting_person_id` is additive like `trace_context`: optional and left out of the JSON
    when absent, so a command sent with a service account's key is the JSON it always was.
    """

    actor: str = Field(description="Who asked: an API key id or `system`.")
    acting_person_id: uuid.UUID | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description=(
            "The person the sender's key acts for; absent for a service account's key. "
            "Timelines, reviews and the audit log record them beside the key."
        ),
    )


class MentionIngested(Message):
    """A batch of stored mentions is ready for analysis."""

    NAME: ClassVar[str] = "mention.ingested"
    VERSION: ClassVar[int] = 1
    QUEUE: ClassVar[str] = ANALYSIS_QUEUE

    mention_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)


class _TierDecision(Message):
    """A stored tier decision of analysis about one watchlist, for incidents to apply."""

    VERSION: ClassVar[int] = 1
    QUEUE: ClassVar[str] = INCIDENTS_QUEUE

    signal_id: uuid.UUID
    watchlist_id: uuid.UUID
    watchlist_name: str


class RiskSignalRaised(_TierDecision):
    """A watchlist's risk reached a tier that may open or raise an incident."""

    NAME: ClassVar[str] = "risk.signal_raised"

    tier: Tier
    score: float
    reasons: list[str]
    detected_at: AwareDatetime
    crisis_type: CrisisType | None = Field(
        default=None, description="The window's dominant crisis type, when cues point to one."
    )
    story_id: uuid.UUID | None = Field(
        default=None, description="The largest story in the window, when there is one."
    )


class RiskTierFell(_TierDecision):
    """A watchlist's risk fell to a lower tier (or none) as its window quieted.

    Incidents record it on the timeline of the watchlist's open incident, let the
    incident's tier follow within its rules, and drop a crisis held back by a snooze
    once the tier no longer opens an incident.
    """

    NAME: ClassVar[str] = "risk.tier_fell"

    previous_tier: Tier
    tier: Tier | None = Field(description="The tier now; null when the watchlist has none.")
    score: float
    reasons: list[str]
    detected_at: AwareDatetime


class CreateWatchlist(Command):
    """Create a watchlist for an organization from a boolean query, keywords, or both."""

    NAME: ClassVar[str] = "watchlist.create"
    VERSION: ClassVar[int] = 1
    QUEUE: ClassVar[str] = ANALYSIS_QUEUE

    name: str = Field(min_length=1, max_length=200)
    keywords: list[str] = Field(
        default_factory=list,
        max_length=200,
        description="Names segmentation keeps whole; without a query, any of them matches.",
    )
    query: str | None = Field(
        default=None,
        max_length=10_000,
        description="A boolean watch rule, e.g. `(奶粉 | 米粉) & (致癌 | 召回) & !谣言`.",
    )
    kind: WatchlistKind = Field(
        default=WatchlistKind.OWN_BRAND,
        # Added within version 1: the default stays out of the JSON, so a worker that
        # predates kinds still reads every command that does not choose another.
        exclude_if=lambda value: value is WatchlistKind.OWN_BRAND,
        description="Competitor and industry watchlists are analysed but open no incident.",
    )


class UpdateWatchlist(Command):
    """Change a watchlist's name, keywords or query; omitted fields stay as they are."""

    NAME: ClassVar[str] = "watchlist.update"
    VERSION: ClassVar[int] = 1
    QUEUE: ClassVar[str] = ANALYSIS_QUEUE

    watchlist_id: uuid.UUID
    name: str | None = Field(default=None, min_length=1, max_length=200)
    keywords: list[str] | None = Field(default=None, max_length=200)
    query: str | None = Field(default=None, max_length=10_000)
    kind: WatchlistKind | None = Field(default=None, exclude_if=lambda value: value is None)


class SensitiveTermEntry(BaseModel):
    """One term of an organization's sensitive-term lexicon; weight 0 disables a default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    term: str = Field(min_length=1, max_length=50)
    category: SensitiveCategory
    weight: float = Field(ge=0.0, le=1.0)


class SetSensitiveTerms(Command):
    """Add, change or disable sensitive terms, and drop earlier changes (back to the default)."""

    NAME: ClassVar[str] = "lexicon.set_terms"
    VERSION: ClassVar[int] = 1
    QUEUE: ClassVar[str] = ANALYSIS_QUEUE

    upsert: list[SensitiveTermEntry] = Field(default_factory=list, max_length=1000)
    remove: list[str] = Field(default_factory=list, max_length=1000)


class RequestBacktest(Command):
    """Replay a watchlist's mentions in [since, until] under its rule or a draft one.

    Answered at once with the backtest's id; an analysis worker runs it afterwards
    (`BacktestRequested`), since a replay can outlast any caller's wait.
    """

    NAME: ClassVar[str] = "backtest.request"
    VERSION: ClassVar[int] = 1
    QUEUE: ClassVar[str] = ANALYSIS_QUEUE

    watchlist_id: uuid.UUID
    since: AwareDatetime
    until: AwareDatetime
    query: str | None = Field(
        default=None, max_length=10_000, description="A draft rule; the watchlist's own if null."
    )


class BacktestRequested(Message):
    """A stored backtest waits for a worker to replay it."""

    NAME: ClassVar[str] = "backtest.requested"
    VERSION: ClassVar[int] = 1
    QUEUE: ClassVar[str] = ANALYSIS_QUEUE

    backtest_id: uuid.UUID


class StartDrill(Command):
    """Start a drill: its own watchlist, which only the drill's mentions reach, and its row.

    Answered with the drill's id and its watchlist's id; the caller then plays the scenario's
    mentions into ingest, each naming the drill (`drill_id`). `replay_incident_id` names the
    past incident whose mentions a `replay` drill plays again with new ids.
    """

    NAME: ClassVar[str] = "drill.start"
    VERSION: ClassVar[int] = 1
    QUEUE: ClassVar[str] = ANALYSIS_QUEUE

    scenario: DrillScenario
    speed: float = Field(ge=1.0, le=3600.0, description="Stream seconds played per wall second.")
    delivery: DrillDelivery = DrillDelivery.SUPPRESS
    replay_incident_id: uuid.UUID | None = None


class EndDrill(Command):
    """End a drill and store its score card; ending an ended drill answers the same card."""

    NAME: ClassVar[str] = "drill.end"
    VERSION: ClassVar[int] = 1
    QUEUE: ClassVar[str] = ANALYSIS_QUEUE

    drill_id: uuid.UUID


class AcknowledgeIncident(Command):
    """Acknowledge an incident: monitoring has started."""

    NAME: ClassVar[str] = "incident.acknowledge"
    VERSION: ClassVar[int] = 1
    QUEUE: ClassVar[str] = INCIDENTS_QUEUE

    incident_id: uuid.UUID
    note: str | None = Field(default=None, max_length=2000)


class ErrorCode(StrEnum):
    """Why a command was refused; clients branch on these."""

    NOT_FOUND = "NotFound"
    INVALID = "Invalid"
    INVALID_TRANSITION = "InvalidTransition"
    CONFLICT = "Conflict"
    FORBIDDEN = "Forbidden"
    INTERNAL = "Internal"
    # The organization holds as much as the deployment allows it; `data` names the quota.
    QUOTA_EXCEEDED = "QuotaExceeded"


def api_field(name: str) -> str:
    """Return an input's name as API clients spell it: `incident_id` → `incidentId`.

    The one convention for error fields: a refusal names the input the way the caller sent
    it (camelCase, dotted for nested inputs), whichever spelling the service used inside.
    """
    return ".".join(_camel(part) for part in name.split("."))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class CommandError(BaseModel):
    """Why a command was refused, in terms a client can act on."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="NotFound, InvalidTransition, Conflict or Invalid.")
    message: str
    field: str | None = None


class CommandResult(BaseModel):
    """What a command handler answers: either `data` or an `error`.

    A value the caller may see only once, such as a newly issued secret, goes in `once`,
    never in `data`: it crosses Redis sealed and the answer kept on the receipt names it in
    `withheld` instead, so a replayed answer says it cannot be shown again
    (`libs.messaging.sealing`, `libs.messaging.receipts`).
    """

    model_config = ConfigDict(frozen=True)

    ok: bool
    data: dict[str, Any] = Field(default_factory=dict)
    error: CommandError | None = None
    once: dict[str, str] = Field(
        default_factory=dict, description="Values shown to the caller this once (a new secret)."
    )
    withheld: list[str] = Field(
        default_factory=list,
        description="Names of `once` values a replayed answer no longer carries.",
    )

    def showing_once(self, **values: str) -> "CommandResult":
        """Return this answer carrying `values` for the caller's eyes only, this once."""
        return self.model_copy(update={"once": {**self.once, **values}})

    @classmethod
    def success(cls, **data: Any) -> "CommandResult":
        """Build a successful result."""
        return cls(ok=True, data=data)

    @classmethod
    def failure(cls, code: str, message: str, field: str | None = None) -> "CommandResult":
        """Build a refusal; `field` is stored as clients spell it (see `api_field`)."""
        named = api_field(field) if field is not None else None
        return cls(ok=False, error=CommandError(code=code, message=message, field=named))


def not_found(kind: str, row_id: object, field: str) -> CommandResult:
    """Refuse because the organization has no `kind` with this id (`incident <id> not found`)."""
    return CommandResult.failure(ErrorCode.NOT_FOUND, f"{kind} {row_id} not found", field=field)


ALL_MESSAGES: tuple[type[Message], ...] = (
    MentionIngested,
    RiskSignalRaised,
    RiskTierFell,
    CreateWatchlist,
    UpdateWatchlist,
    SetSensitiveTerms,
    RequestBacktest,
    BacktestRequested,
    StartDrill,
    EndDrill,
    AcknowledgeIncident,
)


CONFIRMED_MESSAGES: frozenset[str] = frozenset(
    {"risk.signal_raised.v1", "risk.tier_fell.v1", "integration.event.v1"}
)
"""Messages a producer re-sends until their consumer has applied them (a crisis hangs on them)."""
