"""Admins issue and revoke their organization's keys; nobody else can, and secrets show once."""

import uuid

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.tests.conftest import GraphQL, gid
from libs.auth.keys import Principal, resolve
from libs.contracts.enums import Role
from libs.database.tables import ApiKey
from tests.builders import Tenant

CREATE = """
mutation($name: String!, $role: Role!) { createApiKey(name: $name, role: $role) {
  __typename
  ... on ApiKeyCreated { secret apiKey { id databaseId name role prefix revokedAt } }
  ... on Refusal { message }
  ... on InvalidInput { field }
} }
"""
REVOKE = """
mutation($id: ID!) { revokeApiKey(id: $id) {
  __typename
  ... on ApiKey { databaseId revokedAt }
  ... on Refusal { message }
  ... on InvalidInput { field }
} }
"""
LIST = "{ apiKeys { databaseId name role prefix revokedAt } }"


async def _principal(sessions: async_sessionmaker[AsyncSession], secret: str) -> Principal:
    """Resolve a key's secret; it must name a working key."""
    async with sessions() as session:
        principal = await resolve(session, secret)
    assert principal is not None
    return principal


async def _key_row(sessions: async_sessionmaker[AsyncSession], key_id: str) -> ApiKey:
    async with sessions() as session:
        row = (await session.exec(select(ApiKey).where(col(ApiKey.id) == uuid.UUID(key_id)))).one()
    return row


async def test_an_admin_issues_a_key_that_works_once_shown_and_lists_without_secret(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    body = await gql(acme.auth(Role.ADMIN), CREATE, {"name": "客服系统", "role": "INGEST"})
    created = body["data"]["createApiKey"]
    assert created["__typename"] == "ApiKeyCreated", body
    secret = created["secret"]
    assert secret.startswith(f"cw_{created['apiKey']['prefix']}_")
    principal = await _principal(sessions, secret)
    assert (principal.organization_id, principal.role) == (acme.org.id, Role.INGEST)
    stored = await _key_row(sessions, created["apiKey"]["databaseId"])
    assert secret not in stored.key_hash

    listed = await gql(acme.auth(Role.ADMIN), LIST)
    keys = listed["data"]["apiKeys"]
    assert keys[0]["databaseId"] == created["apiKey"]["databaseId"]
    assert len(keys) == len(Role) + 1
    assert secret not in str(listed)

    # The new key authenticates a real request.
    viewer = await gql(acme.auth(Role.ADMIN), CREATE, {"name": "大屏", "role": "VIEWER"})
    token = viewer["data"]["createApiKey"]["secret"]
    read = await gql({"Authorization": f"Bearer {token}"}, "{ incidents { edges { cursor } } }")
    assert read["data"] == {"incidents": {"edges": []}}


async def test_revoking_stops_the_key_and_repeating_it_changes_nothing(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    made = await gql(acme.auth(Role.ADMIN), CREATE, {"name": "旧系统", "role": "RESPONDER"})
    key = made["data"]["createApiKey"]
    first = await gql(acme.auth(Role.ADMIN), REVOKE, {"id": key["apiKey"]["id"]})
    assert first["data"]["revokeApiKey"]["__typename"] == "ApiKey", first
    revoked_at = first["data"]["revokeApiKey"]["revokedAt"]
    assert revoked_at is not None
    again = await gql(acme.auth(Role.ADMIN), REVOKE, {"id": key["apiKey"]["id"]})
    assert again["data"]["revokeApiKey"]["revokedAt"] == revoked_at
    async with sessions() as session:
        assert await resolve(session, key["secret"]) is None


async def test_the_last_working_admin_key_cannot_be_revoked(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    admin = await _principal(sessions, acme.keys[Role.ADMIN])
    alone = await gql(acme.auth(Role.ADMIN), REVOKE, {"id": gid("ApiKey", admin.key_id)})
    assert alone["data"]["revokeApiKey"] == {
        "__typename": "InvalidInput",
        "message": "This is the organization's last working admin key.",
        "field": "id",
    }
    spare = await gql(acme.auth(Role.ADMIN), CREATE, {"name": "备用管理员", "role": "ADMIN"})
    assert spare["data"]["createApiKey"]["__typename"] == "ApiKeyCreated"
    swapped = await gql(acme.auth(Role.ADMIN), REVOKE, {"id": gid("ApiKey", admin.key_id)})
    assert swapped["data"]["revokeApiKey"]["__typename"] == "ApiKey", swapped


@pytest.mark.parametrize("role", [Role.VIEWER, Role.RESPONDER])
async def test_only_admins_manage_or_list_keys(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant, role: Role
) -> None:
    viewer = await _principal(sessions, acme.keys[Role.VIEWER])
    create = await gql(acme.auth(role), CREATE, {"name": "x", "role": "ADMIN"})
    revoke = await gql(acme.auth(role), REVOKE, {"id": gid("ApiKey", viewer.key_id)})
    listed = await gql(acme.auth(role), LIST)
    assert create["data"]["createApiKey"]["__typename"] == "Forbidden"
    assert revoke["data"]["revokeApiKey"]["__typename"] == "Forbidden"
    assert listed["data"] is None
    assert listed["errors"][0]["message"] == "Only an admin key may list API keys."
    async with sessions() as session:
        count = len((await session.exec(select(ApiKey))).all())
        assert await resolve(session, acme.keys[Role.VIEWER]) is not None
    assert count == len(Role)


async def test_another_organizations_keys_are_not_found_and_names_are_checked(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant, rival: Tenant
) -> None:
    theirs = await _principal(sessions, rival.keys[Role.VIEWER])
    body = await gql(acme.auth(Role.ADMIN), REVOKE, {"id": gid("ApiKey", theirs.key_id)})
    assert body["data"]["revokeApiKey"]["__typename"] == "NotFound"
    node = await gql(
        acme.auth(Role.ADMIN), f'{{ node(id: "{gid("ApiKey", theirs.key_id)}") {{ id }} }}'
    )
    assert node["data"] == {"node": None}
    async with sessions() as session:
        assert await resolve(session, rival.keys[Role.VIEWER]) is not None
    blank = await gql(acme.auth(Role.ADMIN), CREATE, {"name": "  ", "role": "VIEWER"})
    assert blank["data"]["createApiKey"]["field"] == "name"


CREATE_WITH_INPUT = """
mutation($input: ApiKeyCreateInput!) { apiKeyCreate(input: $input) {
  __typename
  ... on ApiKeyCreated { secret apiKey { id databaseId name role revokedAt } }
  ... on Refusal { message code }
  ... on InvalidInput { field }
} }
"""
REVOKE_WITH_INPUT = """
mutation($input: ApiKeyRevokeInput!) { apiKeyRevoke(input: $input) {
  __typename
  ... on ApiKey { databaseId revokedAt }
  ... on Refusal { message code }
  ... on InvalidInput { field }
} }
"""


async def test_the_input_forms_issue_and_revoke_a_key_and_refuse_with_codes(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    admin = acme.auth(Role.ADMIN)
    made = await gql(admin, CREATE_WITH_INPUT, {"input": {"name": "工单系统", "role": "VIEWER"}})
    blank = await gql(admin, CREATE_WITH_INPUT, {"input": {"name": "  ", "role": "VIEWER"}})
    by_responder = await gql(
        acme.auth(Role.RESPONDER), CREATE_WITH_INPUT, {"input": {"name": "x", "role": "ADMIN"}}
    )
    key = made["data"]["apiKeyCreate"]
    working = await _principal(sessions, key["secret"])
    revoked = await gql(admin, REVOKE_WITH_INPUT, {"input": {"id": key["apiKey"]["id"]}})
    unknown = await gql(admin, REVOKE_WITH_INPUT, {"input": {"id": gid("ApiKey", uuid.uuid4())}})

    assert key["__typename"] == "ApiKeyCreated"
    assert key["apiKey"]["role"] == "VIEWER"
    assert (working.organization_id, working.role) == (acme.org.id, Role.VIEWER)
    assert blank["data"]["apiKeyCreate"] == {
        "__typename": "InvalidInput",
        "message": "`name` must be 1 to 200 characters.",
        "code": "INVALID_INPUT",
        "field": "name",
    }
    refused = by_responder["data"]["apiKeyCreate"]
    assert (refused["__typename"], refused["code"]) == ("Forbidden", "FORBIDDEN")
    assert revoked["data"]["apiKeyRevoke"]["revokedAt"] is not None
    assert (await _key_row(sessions, key["apiKey"]["databaseId"])).revoked_at is not None
    missing = unknown["data"]["apiKeyRevoke"]
    assert (missing["__typename"], missing["code"]) == ("NotFound", "NOT_FOUND")
