"""The bare baseline for the gateway benchmark: FastAPI returning the same nodes as plain JSON.

Same database, same rows, same fields and the same values as the GraphQL queries of
`gateway_throughput.py` — global ids, enum names, ISO times, rows of the caller's
organization only — so each endpoint sends the same data and the benchmark can check
that they do (it compares the two answers before measuring). What is left out is GraphQL
itself: parsing, validation, the cost charge, resolvers and DataLoaders, and the key check.
That is what serving these pages costs at the least with this stack. Run by the benchmark as
`uvicorn bare_api:app`.
"""

import base64
import os
import uuid
from collections import defaultdict
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from libs.contracts.enums import AuthorKind, IncidentStatus, Sentiment, Source, TaskStatus, Tier
from libs.database.engine import create_engine

engine = create_engine(os.environ["DATABASE_URL"], pool_size=20)
app = FastAPI()

_MENTIONS = text(
    """
    SELECT m.id, m.text, m.posted_at, m.source, au.handle, au.followers, au.kind,
           a.mention_id AS analysed, a.sentiment, a.sentiment_score, a.matched_keywords
    FROM mention m
    LEFT JOIN author au ON au.id = m.author_id AND au.organization_id = :org
    LEFT JOIN mention_analysis a ON a.mention_id = m.id AND a.organization_id = :org
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
    WHERE incident_id = ANY(:ids) AND organization_id = :org
    ORDER BY position, due_at, id
    """
)


def global_id(type_name: str, id_: uuid.UUID) -> str:
    """The Relay global id GraphQL shows for a row: base64 of `Type:uuid`."""
    return base64.b64encode(f"{type_name}:{id_}".encode()).decode()


@app.get("/mentions/{org}")
async def mentions(org: uuid.UUID) -> list[dict[str, Any]]:
    """The newest 50 mentions with author and analysis."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_MENTIONS, {"org": org})).all()
    return [
        {
            "id": global_id("Mention", r.id),
            "text": r.text,
            "postedAt": r.posted_at.isoformat(),
            "source": Source(r.source).name,
            "author": None
            if r.handle is None
            else {"handle": r.handle, "followers": r.followers, "kind": AuthorKind(r.kind).name},
            "analysis": None
            if r.analysed is None
            else {
                "sentiment": Sentiment(r.sentiment).name,
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
        tasks = (await conn.execute(_TASKS, {"ids": [r.id for r in rows], "org": org})).all()
    by_incident: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for t in tasks:
        by_incident[t.incident_id].append(
            {
                "id": global_id("ResponseTask", t.id),
                "title": t.title,
                "kind": t.kind,
                "dueAt": t.due_at.isoformat(),
                "status": TaskStatus(t.status).name,
            }
        )
    return [
        {
            "id": global_id("Incident", r.id),
            "title": r.title,
            "tier": Tier(r.tier).name,
            "status": IncidentStatus(r.status).name,
            "detectedAt": r.detected_at.isoformat(),
            "tasksConnection": {"nodes": by_incident[r.id]},
        }
        for r in rows
    ]
