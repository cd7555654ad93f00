"""Bearer-key authentication for the ingest API."""

from typing import Annotated

from fastapi import Depends, Request

from libs import ratelimit
from libs.auth.keys import Principal, parse_bearer, resolve
from services.ingest.dependencies import ResourcesDep
from services.ingest.problems import ProblemError


async def current_principal(request: Request, held: ResourcesDep) -> Principal:
    """Resolve the caller's key or refuse with 401."""
    secret = parse_bearer(request.headers.get("authorization"))
    if secret is None:
        raise _unauthorized("send an API key as `Authorization: Bearer <key>`")
    async with held.sessions() as session:
        principal = await resolve(session, secret)
    if principal is None:
        raise _unauthorized("the API key is unknown or revoked")
    verdict = await ratelimit.hit(held.redis, principal.key_id, held.rate_limit_per_minute)
    if not verdict.allowed:
        retry = {"Retry-After": str(verdict.retry_after)}
        raise ProblemError(429, "Too Many Requests", f"this key {verdict.explained}", headers=retry)
    return principal


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, "Unauthorized", detail)


async def ingesting_principal(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    """Require a key that may push mentions."""
    if not principal.can_ingest():
        raise ProblemError(403, "Forbidden", f"a {principal.role.value} key cannot push mentions")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
IngestingPrincipal = Annotated[Principal, Depends(ingesting_principal)]
