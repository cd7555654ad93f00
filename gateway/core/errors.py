"""Expected failures: typed results for mutations, and errors safe to show unmasked.

A mutation answers a refusal a client can act on with a member of its result union; an
error is raised only when nothing useful can be returned (bad cursor, service silent).
`log_errors` keeps the same line in the logs: a client's mistake is one line at INFO, a
service that did not answer one at WARNING, and only an unexpected failure is an ERROR with
its traceback.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import logging
from collections.abc import Sequence
from typing import ClassVar

import strawberry
from graphql import GraphQLError
from strawberry.relay import GlobalIDValueError
from strawberry.types.union import StrawberryUnion

from gateway.core.enums import IncidentStatus, Quota, RefusalCode

# When the deprecated forms go: positional mutations, and string or JSON fields that have a
# typed field next to them (docs/graphql.md, the mutation convention).
REMOVAL_DATE = "2027-06-30"
REMOVAL = f"removal on {REMOVAL_DATE}."

log = logging.getLogger("gateway.errors")


class GatewayError(Exception):
    """A failure whose message is meant for the client, so it is never masked.

    A kind of failure a client may handle by itself names its `CODE`, which graphql-core
    copies into the error's `extensions.code` (it reads the exception's `extensions`).
    """

    CODE: ClassVar[str | None] = None

    @property
    def extensions(self) -> dict[str, str] | None:
        """The error's `extensions` in the answer: its code, when it has one."""
        return {"code": self.CODE} if self.CODE is not None else None


class ForbiddenError(GatewayError):
    """A read that only admin keys may make."""

    CODE = RefusalCode.FORBIDDEN.value


class ServiceUnavailableError(GatewayError):
    """The service that owns a change did not answer a command in time, or Redis is away:
    the client may try again later, so the error says so in its code too."""

    CODE = "UNAVAILABLE"


CODE_DESCRIPTION = "What kind of refusal this is, for code to branch on; stable across releases."


@strawberry.interface(
    description=(
        "A refusal the client can act on: every error a mutation's result union may hold. "
        "`code` is for code to branch on, `message` for people."
    )
)
class Refusal:
    message: str
    code: RefusalCode = strawberry.field(description=CODE_DESCRIPTION)


def _code(code: RefusalCode) -> RefusalCode:
    """Give a refusal type its `code`: it follows from the type, so no answer passes one."""
    fixed: RefusalCode = strawberry.field(default=code, description=CODE_DESCRIPTION)
    return fixed


@strawberry.type(description="The caller's key may read but not change data.")
class Forbidden(Refusal):
    code: RefusalCode = _code(RefusalCode.FORBIDDEN)


@strawberry.type(description="An input value was refused; `field` names it.")
class InvalidInput(Refusal):
    code: RefusalCode = _code(RefusalCode.INVALID_INPUT)

    field: str | None = None


@strawberry.type(description="The change collides with existing data, e.g. a duplicate name.")
class Conflict(Refusal):
    code: RefusalCode = _code(RefusalCode.CONFLICT)

    field: str | None = None


@strawberry.type(description="No such object in the caller's organization.")
class NotFound(Refusal):
    code: RefusalCode = _code(RefusalCode.NOT_FOUND)


@strawberry.type(description="The object is not in a state that allows this change.")
class InvalidTransition(Refusal):
    code: RefusalCode = _code(RefusalCode.INVALID_TRANSITION)

    current_status: IncidentStatus | None = None


@strawberry.type(
    description=(
        "The organization already holds as many as the deployment allows: `kind` names the "
        "quota, `limit` its size."
    )
)
class QuotaExceeded(Refusal):
    code: RefusalCode = _code(RefusalCode.QUOTA_EXCEEDED)

    quota: str = strawberry.field(
        description="The quota's name (`watchlists`, `endpoints`).",
        deprecation_reason=f"Use `kind`; {REMOVAL}",
    )
    limit: int

    @strawberry.field(description="Which quota was used up.")
    def kind(self) -> Quota:
        return Quota(self.quota)


# Every refusal a war-room mutation may answer with, in the order their unions list them.
AnyRefusal = NotFound | InvalidTransition | InvalidInput | Conflict | Forbidden


def or_why_not(name: str, answer: str) -> StrawberryUnion:
    """Name a mutation's result union `name`, described as `answer` (say "The statement")
    or the refusal saying why not, so every result union reads the same to clients."""
    return strawberry.union(name, description=f"{answer}, or why not.")


def superseded_by(field: str) -> str:
    """The deprecation reason of a mutation form that `field`, taking `input:`, replaces."""
    return f"Use `{field}(input:)`; {REMOVAL}"


def should_mask(error: GraphQLError) -> bool:
    """Mask unexpected exceptions only; bad input and gateway errors stay readable."""
    original = error.original_error
    if original is None:
        return False
    return not isinstance(original, (GatewayError, GraphQLError, GlobalIDValueError))


def log_errors(errors: Sequence[GraphQLError], operation: str | None) -> None:
    """Log each error of an operation once, at the level its cause deserves.

    An error without an original exception is graphql's own verdict on the document (a
    field that does not exist, a wrong argument type, a limit exceeded), and a GatewayError
    or a bad global id is the answer to a bad request: the client's mistake, which the
    client is told; the log needs only a line to count and follow it.
    """
    for error in errors:
        original = error.original_error
        path = ".".join(str(part) for part in error.path) if error.path else None
        fields = {"operation": operation or "anonymous", "path": path}
        if original is None or isinstance(original, (GraphQLError, GlobalIDValueError)):
            log.info("graphql client error: %s", error.message, extra=fields)
        elif isinstance(original, ServiceUnavailableError):
            log.warning("graphql service unavailable: %s", error.message, extra=fields)
        elif isinstance(original, GatewayError):
            log.info("graphql request refused: %s", error.message, extra=fields)
        else:
            log.error(
                "graphql operation failed: %s: %s",
                type(original).__name__,
                original,
                exc_info=original,
                extra=fields,
            )
