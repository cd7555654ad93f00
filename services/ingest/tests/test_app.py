"""The assembled app: its OpenAPI document and its reconciler's pass."""

from datetime import timedelta
from typing import Any

import httpx
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import ANALYSIS_QUEUE
from libs.database.engine import transaction
from libs.database.tables._types import utcnow
from libs.ratelimit import Budgets
from services.ingest.app import create_app, reconcile_once
from services.ingest.complaints.service import ContactKey
from services.ingest.config import IngestSettings
from services.ingest.dependencies import Resources
from services.ingest.idempotency.service import HEADER
from services.ingest.tests.builders import (
    make_analysis,
    make_organization,
    store_mentions,
    stored_at,
)


async def openapi_client() -> httpx.AsyncClient:
    """Return a client of a development app that is not started: enough for the static
    documents, `/docs` included (served in development only)."""
    settings = IngestSettings(
        database_url="postgresql://-/-", redis_url="redis://-", crisiswatch_env="development"
    )
    app = create_app(settings)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest")


async def test_openapi_documents_the_item_schema() -> None:
    async with await openapi_client() as client:
        spec = (await client.get("/openapi.json")).json()
        body = spec["paths"]["/v1/mentions"]["post"]["requestBody"]["content"]["application/json"]
        assert "mentions" in body["schema"]["properties"]
        assert (await client.get("/docs")).status_code == 200


async def test_openapi_documents_route_schemas_and_the_header() -> None:
    async with await openapi_client() as client:
        spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"]["/v1/complaints"]["post"]
    schemas = spec["components"]["schemas"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request_schema = schemas[ref.rsplit("/", 1)[1]]
    assert {"customer_ref", "channel", "text", "contacts"} <= set(request_schema["properties"])
    assert set(request_schema["required"]) == {"customer_ref", "channel", "text"}
    assert request_schema["examples"]
    # Every reference resolves, so a client generator can follow it.
    references = _refs(spec)
    assert references
    for target in references:
        assert target.startswith("#/components/schemas/") and target.rsplit("/", 1)[1] in schemas
    created = operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert created.endswith("/ComplaintOut")
    assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]
    assert {"409", "413", "422", "503"} <= set(operation["responses"])
    header = next(p for p in operation["parameters"] if p["name"] == HEADER)
    assert header["in"] == "header" and header["required"] is False
    assert header["schema"]["maxLength"] == 255 and header["schema"]["minLength"] == 1
    mentions_parameters = spec["paths"]["/v1/mentions"]["post"]["parameters"]
    assert any(p["name"] == HEADER for p in mentions_parameters)
    assert "/v1/complaints/{complaint_id}" in spec["paths"]


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


async def test_the_reconciler_puts_only_lost_mentions_back_on_the_analysis_queue(
    rolled_back: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    async with transaction(rolled_back) as session:
        organization = await make_organization(session)
        lost, analysed, _fresh = await store_mentions(
            session, organization, "lost", "analysed", "fresh"
        )  # fresh: stored just now, not yet due
        for mention_id in (lost, analysed):
            await stored_at(session, mention_id, utcnow() - timedelta(minutes=10))
        make_analysis(session, organization, analysed)

    await reconcile_once(Resources(rolled_back, redis, Budgets(0, 0, 0), ContactKey(None)))
    jobs = await redis.queued_jobs(queue_name=ANALYSIS_QUEUE)
    # Rows other tests left behind may be announced too; only this organization's count here.
    ours = [job.args[0] for job in jobs if job.args[0]["organization_id"] == str(organization)]
    assert [message["mention_ids"] for message in ours] == [[str(lost)]]
