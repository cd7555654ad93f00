"""Expected failures: typed results for mutations, and errors safe to show unmasked.

A mutation answers a refusal a client can act on with a member of its result union; an
error is raised only when nothing useful can be returned (bad cursor, service silent).
"""

import strawberry
from graphql import GraphQLError
from strawberry.relay import GlobalIDValueError
from strawberry.types.union import StrawberryUnion

from gateway.core.enums import IncidentStatus


class GatewayError(Exception):
    """A failure whose message is meant for the client, so it is never masked."""


class ForbiddenError(GatewayError):
    """A read that only admin keys may make."""


class ServiceUnavailableError(GatewayError):
    """The service that owns a change did not answer a command in time."""


@strawberry.interface(description="A refusal the client can act on.")
class Refusal:
    message: str


@strawberry.type(description="The caller's key may read but not change data.")
class Forbidden(Refusal):
    pass


@strawberry.type(description="An input value was refused; `field` names it.")
class InvalidInput(Refusal):
    field: str | None = None


@strawberry.type(description="The change collides with existing data, e.g. a duplicate name.")
class Conflict(Refusal):
    field: str | None = None


@strawberry.type(description="No such object in the caller's organization.")
class NotFound(Refusal):
    pass


@strawberry.type(description="The object is not in a state that allows this change.")
class InvalidTransition(Refusal):
    current_status: IncidentStatus | None = None


@strawberry.type(
    description=(
        "The organization already holds as many as the deployment allows: `quota` names the "
        "quota (`watchlists`, `endpoints`), `limit` its size."
    )
)
class QuotaExceeded(Refusal):
    quota: str
    limit: int


# Every refusal a war-room mutation may answer with, in the order their unions list them.
AnyRefusal = NotFound | InvalidTransition | InvalidInput | Conflict | Forbidden


def or_why_not(name: str, answer: str) -> StrawberryUnion:
    """Name a mutation's result union `name`, described as `answer` (say "The statement")
    or the refusal saying why not, so every result union reads the same to clients."""
    return strawberry.union(name, description=f"{answer}, or why not.")


def should_mask(error: GraphQLError) -> bool:
    """Mask unexpected exceptions only; bad input and gateway errors stay readable."""
    original = error.original_error
    if original is None:
        return False
    return not isinstance(original, (GatewayError, GraphQLError, GlobalIDValueError))
