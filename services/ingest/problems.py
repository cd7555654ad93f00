"""RFC 9457 problem responses, so every refusal names the field at fault."""

import uuid
from typing import TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from libs.database.engine import is_statement_timeout
from libs.database.unanalysed import TransactionTooLong
from libs.messaging.failures import is_transient
from services.ingest.schemas import FieldError, Problem

PROBLEM_JSON = "application/problem+json"
# How long a sender waits before sending the same request again while PostgreSQL is away.
OUTAGE_RETRY_AFTER_SECONDS = 5

Found = TypeVar("Found")


class ProblemError(Exception):
    """Raised by handlers to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        errors: list[FieldError] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.problem = Problem(title=title, status=status, detail=detail, errors=errors or [])
        self.headers = headers


def field_path(prefix: str, loc: tuple[int | str, ...]) -> str:
    """Render a pydantic location as `mentions[2].author.handle`."""
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def errors_of(exc: ValidationError, prefix: str) -> list[FieldError]:
    """Turn pydantic errors into field/reason pairs."""
    return [
        FieldError(field=field_path(prefix, tuple(error["loc"])), reason=error["msg"])
        for error in exc.errors(include_url=False)
    ]


def invalid_request(errors: list[FieldError]) -> ProblemError:
    """Return the 422 problem naming each field at fault."""
    detail = "; ".join(f"{e.field}: {e.reason}" for e in errors)
    return ProblemError(422, "Invalid request", detail, errors)


def found(value: Found | None, what: str, key: uuid.UUID) -> Found:
    """Return `value`, or refuse with 404 when the caller's organization has no such `what`."""
    if value is None:
        raise ProblemError(404, "Not found", f"{what} {key} does not exist")
    return value


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    """Render a problem with its media type."""
    return JSONResponse(
        problem.model_dump(mode="json"),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _unavailable(detail: str) -> JSONResponse:
    """503 with `Retry-After`: nothing of the request was kept, and it may be sent again."""
    return problem_response(
        Problem(title="Service Unavailable", status=503, detail=detail),
        headers={"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)},
    )


def install(app: FastAPI) -> None:
    """Answer validation and HTTP errors as problem documents."""

    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc.problem, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for error in exc.errors():
            loc = tuple(part for part in error.get("loc", ()) if part != "body")
            errors.append(FieldError(field=field_path("", loc) or "body", reason=error["msg"]))
        return problem_response(invalid_request(errors).problem)

    @app.exception_handler(TransactionTooLong)
    async def _too_long(_: Request, exc: TransactionTooLong) -> JSONResponse:
        # Nothing of the request was kept; the same body sent again stores each mention once.
        detail = f"storing took too long ({exc}), so nothing was kept; send the same request again"
        return _unavailable(detail)

    @app.exception_handler(DataError)
    async def _unstorable(_: Request, exc: DataError) -> JSONResponse:
        # Validation should catch every such value first; if one slips through, the sender
        # still learns it was the data, not the service.
        detail = str(exc.orig).splitlines()[0] if exc.orig else "a value could not be stored"
        return problem_response(Problem(title="Unstorable value", status=422, detail=detail))

    # The forms a lost PostgreSQL takes before the driver wraps it: refused, reset, its unix
    # socket gone, a connect that timed out; then the driver's own errors, by SQLSTATE or a
    # connection it reports broken.
    @app.exception_handler(ConnectionError)
    @app.exception_handler(FileNotFoundError)
    @app.exception_handler(TimeoutError)
    @app.exception_handler(DBAPIError)
    async def _outage(_: Request, exc: Exception) -> JSONResponse:
        # PostgreSQL down or restarting, or a statement it cancelled (57014: one that ran past
        # `statement_timeout_ingest_seconds`, or an operator's pg_cancel_backend): nothing of
        # the request is kept (its transaction did not commit), and the same body sent again
        # later stores each mention once. Anything else is a fault of ours, left to the 500.
        if is_statement_timeout(exc):
            detail = (
                "the database cancelled the request's statement (too slow, or cancelled by an "
                "operator); send the same request again later"
            )
        elif is_transient(exc):
            detail = "the database is not answering; send the same request again later"
        else:
            raise exc
        return _unavailable(detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(
            Problem(title=str(exc.detail), status=exc.status_code, detail=str(exc.detail)),
            headers=getattr(exc, "headers", None),
        )
