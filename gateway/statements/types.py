"""A statement as clients read it, with its review record; the filter of statement lists."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime
from typing import Any, Self, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types.lazy_type import LazyType

from gateway.core.context import Info
from gateway.core.enums import (
    Channel,
    ConsistencyFlagKind,
    ReviewDecision,
    ReviewStage,
    StatementStatus,
)
from gateway.core.errors import REMOVAL
from gateway.core.nodes import LoadedNode, children_of, load_by_name
from gateway.core.rows import FromRow, converted
from gateway.people.types import Person
from gateway.statements.loaders import REVIEWS_BY_STATEMENT, STATEMENTS

# An incident lists its statements, so a statement names its incident lazily, without an import.
IncidentRef: LazyType[str, str] = LazyType("Incident", "gateway.incidents.types")


@strawberry.type(description="One review decision on a statement, kept for the record.")
class StatementReview(FromRow):
    CONVERTED = converted(stage=ReviewStage, decision=ReviewDecision)

    stage: ReviewStage
    decision: ReviewDecision
    reviewer: str = strawberry.field(description="The key that decided (`api_key:<id>`).")
    note: str | None
    reviewed_at: datetime
    review_round: int = strawberry.field(
        description="Which round of review it belongs to: a rejection or revision starts one."
    )
    person_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The person who decided; null for a service account's key.")
    async def person(self, info: Info) -> Person | None:
        return await Person.load(info, self.person_id)


@strawberry.type(
    description=(
        "Why a statement breaks the one-message rule (一致性原则): a key fact it does not "
        "carry (MISSING_FACT), or figures of some unit that share none with another "
        "channel's statement (CONFLICT)."
    )
)
class ConsistencyFlag:
    kind: ConsistencyFlagKind
    channel: Channel = strawberry.field(
        description="A missing fact's own statement's channel; a conflict's other channel."
    )
    expected: str = strawberry.field(
        description="The key fact's value, or the figures the other channel states."
    )
    found: str | None = strawberry.field(
        description="The figures this statement states in the same units; null when none."
    )
    label: str | None = strawberry.field(description="The missing key fact's label.")
    quantity: str | None = strawberry.field(description="What a conflict's figures measure.")
    unit: str | None = strawberry.field(description="The unit of a conflict's figures.")

    @classmethod
    def from_stored(cls, flag: dict[str, Any]) -> Self:
        """Build from one flag as the incidents service stores it on the statement."""
        return cls(
            kind=ConsistencyFlagKind(flag["kind"]),
            channel=Channel(flag["channel"]),
            expected=str(flag["expected"]),
            found=flag.get("found"),
            label=flag.get("label"),
            quantity=flag.get("quantity"),
            unit=flag.get("unit"),
        )


@strawberry.type(
    description=(
        "A public statement for one channel, from draft through three-level review "
        "(三级审核, plus legal for red incidents) to publication."
    )
)
class Statement(LoadedNode):
    ROWS = STATEMENTS
    CONVERTED = converted(channel=Channel, status=StatementStatus, flags=JSON)

    channel: Channel
    body: str
    status: StatementStatus
    review_level: int = strawberry.field(
        description="The highest review level approved in order, 0 to 3."
    )
    legal_approved: bool
    legal_requested: bool = strawberry.field(
        description=(
            "Whether legal approval was asked for (`requestLegalReview`, or the playbook of "
            "the incident's tier when it was drafted); red incidents' statements need it anyway."
        )
    )
    flags: JSON = strawberry.field(
        description=(
            "Unresolved consistency flags: key facts this channel's statement omits or "
            "contradicts (一致性原则); publication is refused while any remain."
        ),
        deprecation_reason=f"Use `consistencyFlags`; {REMOVAL}",
    )
    published_url: str | None
    published_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    incident_id: strawberry.Private[uuid.UUID]

    @strawberry.field(
        description=(
            "Unresolved consistency flags: key facts this channel's statement omits, or "
            "figures another channel states otherwise (一致性原则); publication is refused "
            "while any remain."
        )
    )
    def consistency_flags(self) -> list[ConsistencyFlag]:
        stored = cast(list[dict[str, Any]], self.flags)
        return [ConsistencyFlag.from_stored(flag) for flag in stored]

    @strawberry.field(description="Every review decision, oldest first.")
    async def reviews(self, info: Info) -> list[StatementReview]:
        return await children_of(info, REVIEWS_BY_STATEMENT, self.id, StatementReview)

    @strawberry.field(
        graphql_type=IncidentRef | None, description="The incident the statement answers."
    )
    async def incident(self, info: Info) -> relay.Node | None:
        return await load_by_name(info, "Incident", self.incident_id)
