"""Watch rules and the sensitive lexicon end to end: gateway → the real analysis worker.

Each mutation is applied (or refused) by the analysis service and read back through the
gateway; refusals carry the service's own words.
"""

from typing import Any

from sqlmodel import col, select

from gateway.tests.conftest import gid
from gateway.tests.war_room_ops import CREATE_WATCHLIST, SET_TERMS, UPDATE_WATCHLIST
from libs.contracts.enums import Role
from libs.database.tables import Watchlist
from tests.builders import Tenant, read_all
from tests.gateway.builders import System, refusal


async def create(
    system: System, owner: Tenant, fields: dict[str, Any], role: Role = Role.RESPONDER
) -> dict[str, Any]:
    """Send createWatchlist with `fields` and return its result."""
    return await system.mutate(owner, role, CREATE_WATCHLIST, {"input": fields})


async def update(system: System, owner: Tenant, fields: dict[str, Any]) -> dict[str, Any]:
    """Send updateWatchlist with `fields` and return its result."""
    return await system.mutate(owner, Role.RESPONDER, UPDATE_WATCHLIST, {"input": fields})


async def stored(system: System, owner: Tenant) -> list[Watchlist]:
    """Return the organization's watchlists as the analysis service stored them."""
    query = select(Watchlist).where(col(Watchlist.organization_id) == owner.org.id)
    return await read_all(system.sessions, query)


async def test_responder_creates_a_watchlist_and_a_taken_name_is_a_conflict(
    system: System, acme: Tenant
) -> None:
    fields = {"name": "奶粉质量", "keywords": ["奶粉", "拉肚子"]}
    created = await create(system, acme, fields)
    again = await create(system, acme, fields, Role.ADMIN)
    assert created["__typename"] == "Watchlist"
    assert (created["name"], created["keywords"]) == ("奶粉质量", ["奶粉", "拉肚子"])
    assert created["id"] == gid("Watchlist", created["databaseId"])
    assert [str(w.id) for w in await stored(system, acme)] == [created["databaseId"]]
    assert again == refusal("Conflict", "a watchlist named '奶粉质量' already exists", "name")


async def test_service_refusal_of_an_input_maps_to_invalid_input(
    system: System, acme: Tenant
) -> None:
    refused = await create(system, acme, {"name": "空白", "keywords": ["  "]})
    assert refused == refusal("InvalidInput", "keywords must not be blank", "keywords")


async def test_create_watchlist_sends_a_boolean_query_and_reads_it_back(
    system: System, acme: Tenant
) -> None:
    rule = "(奶粉 | 米粉) & (致癌 | 召回) & !谣言"
    created = await create(system, acme, {"name": "奶粉安全", "query": rule})
    assert created["__typename"] == "Watchlist", created
    assert created["id"] == gid("Watchlist", created["databaseId"])
    assert (created["name"], created["keywords"], created["query"]) == ("奶粉安全", [], rule)
    [row] = await stored(system, acme)
    assert (str(row.id), row.query, row.keywords) == (created["databaseId"], rule, [])


async def test_a_rule_error_is_invalid_input_on_query_naming_the_column(
    system: System, acme: Tenant
) -> None:
    watched = await create(system, acme, {"name": "奶粉质量", "query": "奶粉"})
    bad = await create(system, acme, {"name": "坏规则", "query": "(奶粉 | 米粉 & 召回"})
    updated = await update(system, acme, {"id": watched["id"], "query": "奶粉 & 召回)"})
    nothing = await create(system, acme, {"name": "空规则"})
    assert bad == refusal(
        "InvalidInput",
        "unbalanced parentheses: '(' at column 0 is never closed (at column 1)",
        "query",
    )
    assert updated == refusal(
        "InvalidInput",
        "unbalanced parentheses: ')' at column 7 has no matching '(' (at column 8)",
        "query",
    )
    assert nothing == refusal("InvalidInput", "give a query or at least one keyword", "query")
    assert [row.query for row in await stored(system, acme)] == ["奶粉"]


async def test_update_watchlist_changes_only_what_is_given(system: System, acme: Tenant) -> None:
    watched = await create(
        system, acme, {"name": "奶粉质量", "keywords": ["禾岚", "奶粉"], "query": "禾岚 & 奶粉"}
    )
    await create(system, acme, {"name": "物流", "keywords": ["快递"]})
    changed = await update(
        system, acme, {"id": watched["id"], "name": "奶粉安全", "query": "禾岚 & 奶粉 & !谣言"}
    )
    taken = await update(system, acme, {"id": watched["id"], "name": "物流"})
    assert changed["__typename"] == "Watchlist", changed
    assert changed["id"] == watched["id"]
    assert changed["name"] == "奶粉安全"
    # The keywords were not sent, so they stay.
    assert changed["keywords"] == ["禾岚", "奶粉"]
    assert changed["query"] == "禾岚 & 奶粉 & !谣言"
    assert changed["updatedAt"] > changed["createdAt"]
    assert taken == refusal("Conflict", "a watchlist named '物流' already exists", "name")


async def test_set_sensitive_terms_applies_changes_the_lexicon_query_then_lists(
    system: System, acme: Tenant
) -> None:
    earlier = {"upsert": [{"term": "下架", "category": "REGULATOR", "weight": 0.5}]}
    await system.mutate(acme, Role.ADMIN, SET_TERMS, {"input": earlier})
    terms = {
        "upsert": [
            {"term": "致癌", "category": "SAFETY", "weight": 0.9},
            {"term": "维权", "category": "RIGHTS", "weight": 0.0},
        ],
        "remove": ["下架"],
    }
    changed = await system.mutate(acme, Role.ADMIN, SET_TERMS, {"input": terms})
    listed = await system.post(
        acme.auth(Role.VIEWER), "{ sensitiveTerms { term category weight } }"
    )
    assert changed == {
        "__typename": "SensitiveTermsChanged",
        "upserted": ["致癌", "维权"],
        "removed": ["下架"],
    }
    # By code point: 维 (U+7EF4) before 致 (U+81F4); the removed 下架 is gone.
    assert listed["data"]["sensitiveTerms"] == [
        {"term": "维权", "category": "RIGHTS", "weight": 0.0},
        {"term": "致癌", "category": "SAFETY", "weight": 0.9},
    ]


async def test_a_lexicon_refusal_of_the_service_names_the_entry(
    system: System, acme: Tenant
) -> None:
    blank = {
        "upsert": [
            {"term": "召回", "category": "SAFETY", "weight": 0.7},
            {"term": "   ", "category": "DATA_LEAK", "weight": 0.7},
        ]
    }
    refused = await system.mutate(acme, Role.ADMIN, SET_TERMS, {"input": blank})
    listed = await system.post(acme.auth(Role.VIEWER), "{ sensitiveTerms { term } }")
    assert refused == refusal("InvalidInput", "term must not be blank", "upsert[1].term")
    # All or nothing: the valid entry before it was not stored either.
    assert listed["data"]["sensitiveTerms"] == []
