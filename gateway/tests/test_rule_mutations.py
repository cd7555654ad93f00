"""Watch rules and the sensitive lexicon as commands, answered by a stand-in analysis worker.

The stand-in answers the way the analysis service does (refusals name the field, a bad rule
names the column), so these tests pin what the gateway sends and how it maps each answer.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.tests import rows
from gateway.tests.conftest import GraphQL, gid, queued_for
from libs.contracts.enums import Role, SensitiveCategory
from libs.contracts.messages import (
    ANALYSIS_QUEUE,
    Command,
    CommandResult,
    CreateWatchlist,
    SetSensitiveTerms,
    UpdateWatchlist,
)
from libs.database.engine import transaction
from libs.database.tables import SensitiveTerm, Watchlist
from libs.messaging.worker import Outcome, Route, Runtime, build_worker
from tests.builders import Tenant
from tests.fixtures.servers import Servers
from tests.fixtures.workers import running_workers

WATCHLIST_FIELDS = "id databaseId name keywords query createdAt updatedAt"

CREATE = f"""
mutation Create($input: CreateWatchlistInput!) {{
  createWatchlist(input: $input) {{
    __typename
    ... on Watchlist {{ {WATCHLIST_FIELDS} }}
    ... on Refusal {{ message }}
    ... on InvalidInput {{ field }}
    ... on Conflict {{ field }}
  }}
}}
"""

UPDATE = f"""
mutation Update($input: UpdateWatchlistInput!) {{
  updateWatchlist(input: $input) {{
    __typename
    ... on Watchlist {{ {WATCHLIST_FIELDS} }}
    ... on Refusal {{ message }}
    ... on InvalidInput {{ field }}
    ... on Conflict {{ field }}
  }}
}}
"""

SET_TERMS = """
mutation Terms($input: SetSensitiveTermsInput!) {
  setSensitiveTerms(input: $input) {
    __typename
    ... on SensitiveTermsChanged { upserted removed }
    ... on Refusal { message }
    ... on InvalidInput { field }
  }
}
"""


def check_rule(query: str) -> CommandResult | None:
    """Refuse unbalanced parentheses the way the analysis service words rule errors."""
    depth = 0
    opened_at: list[int] = []
    for position, char in enumerate(query):
        if char == "(":
            depth += 1
            opened_at.append(position)
        elif char == ")":
            if depth == 0:
                return CommandResult.failure(
                    "Invalid", f"unexpected ')' (at column {position + 1})", field="query"
                )
            depth -= 1
            opened_at.pop()
    if opened_at:
        return CommandResult.failure(
            "Invalid", f"unclosed '(' (at column {opened_at[-1] + 1})", field="query"
        )
    return None


def watchlist_data(row: Watchlist) -> CommandResult:
    return CommandResult.success(
        id=str(row.id), name=row.name, keywords=row.keywords, query=row.query
    )


class StandIn:
    """Answers analysis commands and remembers each one it received."""

    def __init__(self) -> None:
        self.received: list[Command] = []

    async def create(
        self, runtime: Runtime, session: AsyncSession, command: CreateWatchlist
    ) -> Outcome:
        self.received.append(command)
        query = command.query or " | ".join(command.keywords)
        if not query:
            return Outcome(
                result=CommandResult.failure(
                    "Invalid", "give a query or at least one keyword", field="query"
                )
            )
        refused = check_rule(query)
        if refused is not None:
            return Outcome(result=refused)
        row = Watchlist(
            organization_id=command.organization_id,
            name=command.name,
            keywords=list(command.keywords),
            query=query,
        )
        session.add(row)
        await session.flush()
        return Outcome(result=watchlist_data(row))

    async def update(
        self, runtime: Runtime, session: AsyncSession, command: UpdateWatchlist
    ) -> Outcome:
        self.received.append(command)
        row = await session.get(Watchlist, command.watchlist_id)
        if row is None or row.organization_id != command.organization_id:
            return Outcome(
                result=CommandResult.failure("NotFound", "no such watchlist", "watchlist_id")
            )
        if command.name is not None:
            taken = await session.exec(
                select(Watchlist.id).where(
                    col(Watchlist.organization_id) == command.organization_id,
                    col(Watchlist.name) == command.name,
                    col(Watchlist.id) != row.id,
                )
            )
            if taken.first() is not None:
                return Outcome(
                    result=CommandResult.failure(
                        "Conflict", f"a watchlist named {command.name!r} already exists", "name"
                    )
                )
            row.name = command.name
        if command.query is not None:
            refused = check_rule(command.query)
            if refused is not None:
                return Outcome(result=refused)
            row.query = command.query
        if command.keywords is not None:
            row.keywords = list(command.keywords)
        row.updated_at = datetime.now(UTC)
        session.add(row)
        await session.flush()
        return Outcome(result=watchlist_data(row))

    async def set_terms(
        self, runtime: Runtime, session: AsyncSession, command: SetSensitiveTerms
    ) -> Outcome:
        self.received.append(command)
        for position, entry in enumerate(command.upsert):
            if "*" in entry.term:
                return Outcome(
                    result=CommandResult.failure(
                        "Invalid",
                        f"term {entry.term!r} must not contain wildcards",
                        field=f"upsert[{position}].term",
                    )
                )
        org = command.organization_id
        removed = sorted({term.strip().lower() for term in command.remove})
        await session.exec(
            delete(SensitiveTerm).where(
                col(SensitiveTerm.organization_id) == org,
                col(SensitiveTerm.term).in_(removed + [e.term for e in command.upsert]),
            )
        )
        for entry in command.upsert:
            session.add(
                SensitiveTerm(
                    organization_id=org,
                    term=entry.term,
                    category=entry.category.value,
                    weight=entry.weight,
                )
            )
        await session.flush()
        return Outcome(
            result=CommandResult.success(upserted=[e.term for e in command.upsert], removed=removed)
        )


@asynccontextmanager
async def analysis(servers: Servers) -> AsyncIterator[StandIn]:
    """Run the stand-in analysis worker on the real analysis queue."""
    stand_in = StandIn()
    worker = build_worker(
        consumer="test-analysis-rules",
        queue=ANALYSIS_QUEUE,
        routes=[
            Route[Runtime, Any](CreateWatchlist, stand_in.create),
            Route(UpdateWatchlist, stand_in.update),
            Route(SetSensitiveTerms, stand_in.set_terms),
        ],
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        handle_signals=False,
    )
    async with running_workers(worker):
        yield stand_in


async def test_create_watchlist_sends_a_boolean_query_and_reads_it_back(
    servers: Servers, gql: GraphQL, acme: Tenant
) -> None:
    rule = "(奶粉 | 米粉) & (致癌 | 召回) & !谣言"
    async with analysis(servers) as stand_in:
        body = await gql(
            acme.auth(Role.RESPONDER), CREATE, {"input": {"name": "奶粉安全", "query": rule}}
        )

    created = body["data"]["createWatchlist"]
    assert created["__typename"] == "Watchlist", body
    assert created["id"] == gid("Watchlist", created["databaseId"])
    assert (created["name"], created["keywords"], created["query"]) == ("奶粉安全", [], rule)
    [sent] = stand_in.received
    assert isinstance(sent, CreateWatchlist)
    assert (sent.query, sent.keywords, sent.organization_id) == (rule, [], acme.org.id)


async def test_a_rule_error_is_invalid_input_on_query_naming_the_column(
    servers: Servers, gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await rows.watchlist(session, acme.org.id, "奶粉质量", query="奶粉")
    responder = acme.auth(Role.RESPONDER)
    async with analysis(servers):
        created = await gql(
            responder, CREATE, {"input": {"name": "坏规则", "query": "(奶粉 | 米粉 & 召回"}}
        )
        updated = await gql(
            responder,
            UPDATE,
            {"input": {"id": gid("Watchlist", watched.id), "query": "奶粉 & 召回)"}},
        )
        nothing = await gql(responder, CREATE, {"input": {"name": "空规则"}})

    assert created["data"]["createWatchlist"] == {
        "__typename": "InvalidInput",
        "message": "unclosed '(' (at column 1)",
        "field": "query",
    }
    assert updated["data"]["updateWatchlist"] == {
        "__typename": "InvalidInput",
        "message": "unexpected ')' (at column 8)",
        "field": "query",
    }
    assert nothing["data"]["createWatchlist"]["field"] == "query"
    async with sessions() as session:
        stored = await session.get(Watchlist, watched.id)
    assert stored is not None and stored.query == "奶粉"


async def test_update_watchlist_changes_only_what_is_given(
    servers: Servers, gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await rows.watchlist(
            session, acme.org.id, "奶粉质量", ["禾岚", "奶粉"], query="禾岚 & 奶粉"
        )
        await rows.watchlist(session, acme.org.id, "物流", ["快递"])
    target = gid("Watchlist", watched.id)
    responder = acme.auth(Role.RESPONDER)
    async with analysis(servers) as stand_in:
        changed = await gql(
            responder,
            UPDATE,
            {"input": {"id": target, "name": "奶粉安全", "query": "禾岚 & 奶粉 & !谣言"}},
        )
        taken = await gql(responder, UPDATE, {"input": {"id": target, "name": "物流"}})

    updated = changed["data"]["updateWatchlist"]
    assert updated["__typename"] == "Watchlist", changed
    assert updated["id"] == target
    assert updated["name"] == "奶粉安全"
    assert updated["keywords"] == ["禾岚", "奶粉"]
    assert updated["query"] == "禾岚 & 奶粉 & !谣言"
    assert updated["updatedAt"] > updated["createdAt"]
    sent = stand_in.received[0]
    assert isinstance(sent, UpdateWatchlist)
    assert (sent.watchlist_id, sent.name, sent.keywords) == (watched.id, "奶粉安全", None)
    assert taken["data"]["updateWatchlist"] == {
        "__typename": "Conflict",
        "message": "a watchlist named '物流' already exists",
        "field": "name",
    }


async def test_updating_a_watchlist_that_is_not_yours_is_not_found_and_sends_nothing(
    gql: GraphQL,
    redis: ArqRedis,
    sessions: async_sessionmaker[AsyncSession],
    acme: Tenant,
    rival: Tenant,
) -> None:
    async with transaction(sessions) as session:
        watched = await rows.watchlist(session, acme.org.id)
    outsider = rival.auth(Role.ADMIN)
    for global_id in (
        gid("Watchlist", watched.id),
        gid("Watchlist", uuid.uuid4()),
        gid("Story", watched.id),
    ):
        body = await gql(outsider, UPDATE, {"input": {"id": global_id, "name": "改名"}})
        assert body["data"]["updateWatchlist"] == {
            "__typename": "NotFound",
            "message": f"No watchlist with id {global_id}.",
        }
    assert await queued_for(redis, ANALYSIS_QUEUE, rival) == []


async def test_set_sensitive_terms_applies_changes_the_lexicon_query_then_lists(
    servers: Servers, gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        await rows.sensitive_term(session, acme.org.id, "下架", SensitiveCategory.REGULATOR, 0.5)
    terms = {
        "upsert": [
            {"term": "致癌", "category": "SAFETY", "weight": 0.9},
            {"term": "维权", "category": "RIGHTS", "weight": 0.0},
        ],
        "remove": ["下架"],
    }
    async with analysis(servers) as stand_in:
        body = await gql(acme.auth(Role.ADMIN), SET_TERMS, {"input": terms})

    assert body["data"]["setSensitiveTerms"] == {
        "__typename": "SensitiveTermsChanged",
        "upserted": ["致癌", "维权"],
        "removed": ["下架"],
    }
    [sent] = stand_in.received
    assert isinstance(sent, SetSensitiveTerms)
    assert [(e.term, e.category, e.weight) for e in sent.upsert] == [
        ("致癌", SensitiveCategory.SAFETY, 0.9),
        ("维权", SensitiveCategory.RIGHTS, 0.0),
    ]
    listed = await gql(acme.auth(Role.VIEWER), "{ sensitiveTerms { term category weight } }")
    # By code point: 维 (U+7EF4) before 致 (U+81F4); the removed 下架 is gone.
    assert listed["data"]["sensitiveTerms"] == [
        {"term": "维权", "category": "RIGHTS", "weight": 0.0},
        {"term": "致癌", "category": "SAFETY", "weight": 0.9},
    ]


async def test_lexicon_refusals_name_the_entry(
    servers: Servers, gql: GraphQL, redis: ArqRedis, acme: Tenant
) -> None:
    admin = acme.auth(Role.ADMIN)
    out_of_range = {"upsert": [{"term": "召回", "category": "SAFETY", "weight": 1.5}]}
    refused_here = await gql(admin, SET_TERMS, {"input": out_of_range})
    assert await queued_for(redis, ANALYSIS_QUEUE, acme) == []

    wildcard = {
        "upsert": [
            {"term": "召回", "category": "SAFETY", "weight": 0.7},
            {"term": "泄*", "category": "DATA_LEAK", "weight": 0.7},
        ]
    }
    async with analysis(servers):
        refused_there = await gql(admin, SET_TERMS, {"input": wildcard})

    here = refused_here["data"]["setSensitiveTerms"]
    assert here["__typename"] == "InvalidInput" and here["field"] == "upsert[0].weight"
    assert "less than or equal to 1" in here["message"]
    assert refused_there["data"]["setSensitiveTerms"] == {
        "__typename": "InvalidInput",
        "message": "term '泄*' must not contain wildcards",
        "field": "upsert[1].term",
    }


async def test_viewer_keys_may_not_change_rules_or_the_lexicon(
    gql: GraphQL, redis: ArqRedis, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await rows.watchlist(session, acme.org.id)
    viewer = acme.auth(Role.VIEWER)
    created = await gql(viewer, CREATE, {"input": {"name": "新规则", "query": "奶粉 & 召回"}})
    updated = await gql(
        viewer, UPDATE, {"input": {"id": gid("Watchlist", watched.id), "query": "奶粉"}}
    )
    terms = await gql(viewer, SET_TERMS, {"input": {"remove": ["下架"]}})
    forbidden = {
        "__typename": "Forbidden",
        "message": "A key with role `viewer` may read but not change data.",
    }
    assert created["data"]["createWatchlist"] == forbidden
    assert updated["data"]["updateWatchlist"] == forbidden
    assert terms["data"]["setSensitiveTerms"] == forbidden
    assert await queued_for(redis, ANALYSIS_QUEUE, acme) == []
