"""`GET /healthz`: whether PostgreSQL and Redis answer."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from services.ingest.dependencies import ResourcesDep

router = APIRouter()


@router.get("/healthz", responses={503: {"description": "A dependency does not answer."}})
async def health(held: ResourcesDep) -> Response:
    """Report whether PostgreSQL and Redis answer."""
    checks = {"postgres": False, "redis": False}
    try:
        async with held.sessions() as session:
            connection = await session.connection()
            await connection.execute(text("SELECT 1"))
        checks["postgres"] = True
        checks["redis"] = bool(await held.redis.ping())
    except Exception:  # health reports failure instead of raising
        pass
    status = 200 if all(checks.values()) else 503
    return JSONResponse({"status": "ok" if status == 200 else "degraded", **checks}, status)
