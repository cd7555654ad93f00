"""The bare baseline for the gateway benchmark: FastAPI returning the same rows as plain JSON.

Same database, same rows, same fields as the GraphQL queries of `gateway_throughput.py`, but
no GraphQL parsing, validation, resolvers, DataLoaders or auth: what serving these pages
costs at the least with this stack. Run by the benchmark as `uvicorn bare_api:app`.
"""

import os
import uuid
from collections import defaultdict
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from libs.database.engine import create_engine

engine = create_engine(os.environ["DATABASE_URL"], pool_size=20)
app = FastAPI()

_MENTIONS = text(
    """
    SELECT m.id, m.text, m.posted_at, m.source, au.handle, au.followers, au.kind,
           a.sentiment, a.sentiment_score, a.matched_keywords
    FROM mention m
    LEFT JOIN author au ON au.id = m.author_id
    LEFT JOIN mention_analysis a ON a.mention_id = m.id
    WHERE m.organization_id = :org
    ORDER BY m.posted_at DESC, m.id DESC
    LIMIT 50
    """
)
_INCIDENTS = text(
    """
    SELECT id, title, tier, status, detected_at FROM incident
    WHERE organization_id = :org ORDER BY detected_at DESC, id DESC LIMIT 50
    """
)
_TASKS = text(
    """
    SELECT id, incident_id, title, kind, due_at, status FROM response_task
    WHERE incident_id = ANY(:ids) ORDER BY position
    """
)


@app.get("/mentions/{org}")
async def mentions(org: uuid.UUID) -> list[dict[str, Any]]:
    """The newest 50 mentions with author and analysis."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_MENTIONS, {"org": org})).all()
    return [
        {
            "id": str(r.id),
            "text": r.text,
            "postedAt": r.posted_at.isoformat(),
            "source": r.source,
            "author": {"handle": r.handle, "followers": r.followers, "kind": r.kind},
            "analysis": {
                "sentiment": r.sentiment,
                "sentimentScore": r.sentiment_score,
                "matchedKeywords": r.matched_keywords,
            },
        }
        for r in rows
    ]


@app.get("/incidents/{org}")
async def incidents(org: uuid.UUID) -> list[dict[str, Any]]:
    """The newest 50 incidents with their tasks."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_INCIDENTS, {"org": org})).all()
        tasks = (await conn.execute(_TASKS, {"ids": [r.id for r in rows]})).all()
    by_incident: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for t in tasks:
        by_incident[t.incident_id].append(
            {
                "id": str(t.id),
                "title": t.title,
                "kind": t.kind,
                "dueAt": t.due_at.isoformat(),
                "status": t.status,
            }
        )
    return [
        {
            "id": str(r.id),
            "title": r.title,
            "tier": r.tier,
            "status": r.status,
            "detectedAt": r.detected_at.isoformat(),
            "tasks": by_incident[r.id],
        }
        for r in rows
    ]
