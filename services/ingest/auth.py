"""Bearer-key authentication for the ingest API, and the request budgets it is held to.

The client's address is counted first, before the key is looked up, so unknown keys are
counted too; then the key and its organization (`libs.ratelimit`). The verdict is kept on
the request for the `RateLimit-*` headers of the answer (`services.ingest.rate_headers`).

Refusals say how to authenticate the way RFC 6750 asks: a 401 carries `WWW-Authenticate:
Bearer realm="crisiswatch"`, with `error="invalid_token"` when a key was sent but is unknown
or revoked (none when no key was sent), and a 403 `error="insufficient_scope"`.
"""

from typing import Annotated

from fastapi import Depends, Request

from libs.auth.keys import Principal, parse_bearer, resolve
from libs.ratelimit import Verdict
from services.ingest.dependencies import ResourcesDep
from services.ingest.problems import ProblemError
from services.ingest.rate_headers import remember


async def current_principal(request: Request, held: ResourcesDep) -> Principal:
    """Resolve the caller's key within its budgets, or refuse with 401 or 429."""
    tally = held.limiter.tally()
    if not await tally.address(request.client.host if request.client else None):
        raise _rate_limited(await tally.verdict())
    secret = parse_bearer(request.headers.get("authorization"))
    if secret is None:
        raise _unauthorized("send an API key as `Authorization: Bearer <key>`", error=None)
    async with held.sessions() as session:
        principal = await resolve(session, secret)
    if principal is None:
        raise _unauthorized("the API key is unknown or revoked", error="invalid_token")
    await tally.key(principal.key_id, principal.organization_id)
    verdict = await tally.verdict()
    if not verdict.allowed:
        raise _rate_limited(verdict)
    remember(request, verdict)
    return principal


REALM = "crisiswatch"


def bearer_challenge(error: str | None, description: str | None = None) -> dict[str, str]:
    """The `WWW-Authenticate` header of a refusal (RFC 6750 section 3)."""
    challenge = f'Bearer realm="{REALM}"'
    if error is not None:
        challenge += f', error="{error}"'
    if description is not None:
        challenge += f', error_description="{description.replace(chr(34), chr(39))}"'
    return {"WWW-Authenticate": challenge}


def _unauthorized(detail: str, *, error: str | None) -> ProblemError:
    return ProblemError(
        401,
        "Unauthorized",
        detail,
        headers=bearer_challenge(error, detail if error else None),
    )


def _forbidden(detail: str) -> ProblemError:
    return ProblemError(403, "Forbidden", detail, headers=bearer_challenge("insufficient_scope"))


def _rate_limited(verdict: Verdict) -> ProblemError:
    detail = verdict.explained[0].lower() + verdict.explained[1:]
    return ProblemError(429, "Too Many Requests", detail, headers=verdict.headers())


async def ingesting_principal(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    """Require a key that may push mentions."""
    if not principal.can_ingest():
        raise _forbidden(f"a {principal.role.value} key cannot push mentions")
    return principal


async def reading_principal(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    """Require a key that may read what was pushed: `viewer` or above, never `ingest`.

    An ingest key sits in a crawler or a service desk; if it leaks, it must not become a way
    to read the organization's mentions and complaints back.
    """
    if not principal.can_read():
        raise _forbidden(
            f"a `{principal.role.value}` key may only push; reading mentions and complaints "
            "needs a `viewer`, `responder` or `admin` key"
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
IngestingPrincipal = Annotated[Principal, Depends(ingesting_principal)]
ReadingPrincipal = Annotated[Principal, Depends(reading_principal)]
