"""Lists that used to come whole are connections too: keys, the lexicon's changes, dead
letters and mention failures page both ways over every row, once, in their order; the old
plain fields still answer, deprecated."""

import uuid
from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL
from libs.auth.admin import create_key
from libs.contracts.enums import Role
from libs.database import tables
from libs.database.engine import transaction
from tests.builders import Sessions, Tenant


def document(field: str, shown: str, arguments: str = "") -> str:
    return f"""
    query($first: Int, $after: String, $last: Int, $before: String) {{
      {field}(first: $first, after: $after, last: $last, before: $before{arguments}) {{
        totalCount totalCountIsExact
        pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
        nodes {{ {shown} }}
      }}
    }}
    """


async def both_ways(
    gql: GraphQL, tenant: Tenant, field: str, shown: str, arguments: str = ""
) -> list[Any]:
    """Walk `field` forward two at a time and backward two at a time; both must list what
    one full page lists, and the count must agree. Return that list."""
    query = document(field, shown, arguments)
    headers = tenant.auth(Role.ADMIN)

    async def one(**variables: Any) -> dict[str, Any]:
        body = await gql(headers, query, variables)
        assert "errors" not in body, body
        connection: dict[str, Any] = body["data"][field]
        return connection

    whole = await one(first=100)
    everything = [node[shown] for node in whole["nodes"]]
    assert (whole["totalCount"], whole["totalCountIsExact"]) == (len(everything), True)
    forward: list[Any] = []
    after: str | None = None
    while True:
        connection = await one(first=2, after=after)
        forward += [node[shown] for node in connection["nodes"]]
        assert connection["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    backward: list[Any] = []
    before: str | None = None
    while True:
        connection = await one(last=2, before=before)
        backward = [node[shown] for node in connection["nodes"]] + backward
        assert connection["pageInfo"]["hasNextPage"] is (before is not None)
        if not connection["pageInfo"]["hasPreviousPage"]:
            break
        before = connection["pageInfo"]["startCursor"]
    assert forward == everything
    assert backward == everything
    return everything


async def test_api_keys_page_newest_first_for_admins_only(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    owned_by_acme = col(tables.ApiKey.organization_id) == acme.org.id
    async with transaction(sessions) as session:
        for n in range(3):
            await create_key(session, acme.org, Role.VIEWER, name=f"看板 {n}")
    async with sessions() as session:
        ours = (await session.exec(select(tables.ApiKey).where(owned_by_acme))).all()
    newest_first = sorted(ours, key=lambda row: (row.created_at, row.id), reverse=True)
    listed = await both_ways(gql, acme, "apiKeysConnection", "databaseId")
    assert listed == [str(row.id) for row in newest_first]
    old = await gql(acme.auth(Role.ADMIN), "{ apiKeys { databaseId } }")
    assert [key["databaseId"] for key in old["data"]["apiKeys"]] == listed
    refused = await gql(acme.auth(Role.RESPONDER), "{ apiKeysConnection { totalCount } }")
    assert "Only an admin key may list API keys." in refused["errors"][0]["message"]


async def test_sensitive_terms_page_in_code_point_order(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    terms = ["致癌", "召回", "abc", "Zed", "维权", "下架", "爆炸"]
    async with transaction(sessions) as session:
        for term in terms:
            await builders.sensitive_term(session, acme.org.id, term, "safety", 0.5)
        await builders.sensitive_term(session, rival.org.id, "他们的词", "safety", 0.5)
    listed = await both_ways(gql, acme, "sensitiveTermsConnection", "term")
    assert listed == sorted(terms)  # Python sorts str by code point, as COLLATE "C" does


async def test_dead_letters_page_every_consumers_letter_once(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    shared = uuid.uuid4()  # one message two consumers could not apply, at the same instant
    made = [("incidents", shared, T0), ("notify", shared, T0)]
    made += [("incidents", uuid.uuid4(), T0 - timedelta(minutes=n % 2)) for n in range(4)]
    async with transaction(sessions) as session:
        for consumer, message_id, at in made:
            session.add(
                tables.DeadLetter(
                    consumer=consumer,
                    message_id=message_id,
                    queue=f"crisiswatch:{consumer}",
                    job_name="incident.transition.v1",
                    organization_id=acme.org.id,
                    payload={"contact": "13800138000"},
                    error="KeyError: 'tier'",
                    failed_at=at,
                )
            )
        session.add(
            tables.DeadLetter(
                consumer="incidents",
                message_id=uuid.uuid4(),
                queue="crisiswatch:incidents",
                job_name="x.v1",
                organization_id=acme.org.id,
                payload={},
                error="redriven already",
                failed_at=T0,
                redriven_at=T0 + timedelta(hours=1),
            )
        )
    shown = "consumer messageId failedAt"
    query = document("deadLettersConnection", shown)
    body = await gql(acme.auth(Role.ADMIN), query, {"first": 100})
    everything = body["data"]["deadLettersConnection"]["nodes"]
    assert len(everything) == len(made)
    assert [node["failedAt"] for node in everything] == sorted(
        (node["failedAt"] for node in everything), reverse=True
    )
    pairs = await both_ways(gql, acme, "deadLettersConnection", "consumer")
    assert sorted(pairs) == sorted(consumer for consumer, _, _ in made)
    with_redriven = await both_ways(
        gql, acme, "deadLettersConnection", "error", ", includeRedriven: true"
    )
    assert with_redriven.count("redriven already") == 1 and len(with_redriven) == len(made) + 1


async def test_mention_failures_page_the_most_recent_failure_first(
    gql: GraphQL, sessions: Sessions, acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        failed = []
        for n in range(5):
            mention = await builders.mention(session, acme.org.id, posted_at=T0)
            at = T0 + timedelta(minutes=n // 2)
            session.add(
                tables.MentionFailure(
                    mention_id=mention.id,
                    organization_id=acme.org.id,
                    tries=n,
                    reason="analysis failed",
                    first_failed_at=at,
                    last_failed_at=at,
                    given_up_at=at if n % 2 else None,
                )
            )
            failed.append((at, mention.id, n))
    listed = await both_ways(gql, acme, "mentionFailuresConnection", "tries")
    assert listed == [n for _, _, n in sorted(failed, reverse=True)]
    given_up = await both_ways(
        gql, acme, "mentionFailuresConnection", "tries", ", givenUpOnly: true"
    )
    assert given_up == [n for _, _, n in sorted(failed, reverse=True) if n % 2]
