"""Probes and metrics: `GET /livez`, `GET /readyz` (and `/healthz`, its older name), `/metrics`.

Liveness never asks PostgreSQL or Redis, so a database blip restarts no process; readiness
does, so a load balancer stops sending pushes that would only get 503s.
"""

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from libs.metrics.exposition import metrics_response
from libs.metrics.probes import (
    check_redis,
    check_sessions,
    liveness_response,
    readiness_response,
)
from services.ingest.dependencies import ResourcesDep

router = APIRouter()


@router.get("/livez", include_in_schema=False)
async def livez() -> JSONResponse:
    """Answer 200 while the process and its event loop answer."""
    return liveness_response()


@router.get("/readyz", include_in_schema=False)
async def readyz(held: ResourcesDep) -> JSONResponse:
    """Answer 200 when PostgreSQL and Redis answer, else 503 with the one that does not."""
    return await _readiness(held)


@router.get("/healthz", responses={503: {"description": "A dependency does not answer."}})
async def health(held: ResourcesDep) -> JSONResponse:
    """Report whether PostgreSQL and Redis answer (readiness, under its older name)."""
    return await _readiness(held)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this process."""
    return await metrics_response(request)


async def _readiness(held: ResourcesDep) -> JSONResponse:
    postgres, redis = await asyncio.gather(check_sessions(held.sessions), check_redis(held.redis))
    return readiness_response({"postgres": postgres, "redis": redis})
