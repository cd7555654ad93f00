"""Endpoint commands: secrets issued once and sealed, SSRF refusals, tenancy, rotation."""

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import EndpointKind, EventType
from libs.contracts.messages import CommandResult
from libs.contracts.notify import (
    DeleteWebhookEndpoint,
    RedeliverWebhook,
    RotateWebhookSecret,
    SetWebhookPolicy,
    UpdateWebhookEndpoint,
)
from libs.database.engine import transaction
from libs.database.tables import WebhookPolicy
from libs.privacy import DataKey, DecryptionError, decrypt, generate_key, row_context
from services.notify import endpoints, policy
from services.notify.tests.builders import (
    allow_private,
    create,
    deliveries_of,
    emit,
    endpoint_row,
    event,
    try_create,
)
from tests.builders import make_tenant

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
PUBLIC = "https://93.184.215.14/hooks/crisiswatch"


@pytest.fixture
def key() -> DataKey:
    return DataKey.from_base64(generate_key())


async def _org(sessions: Sessions, slug: str = "acme") -> uuid.UUID:
    return (await make_tenant(sessions, slug)).org.id


async def test_a_standard_endpoint_gets_a_secret_answered_once_and_stored_sealed(
    sessions: Sessions, key: DataKey
) -> None:
    org = await _org(sessions)
    result = await try_create(sessions, key, org, PUBLIC, now=NOW)

    assert result.ok
    secret = result.data["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    described = result.data["endpoint"]
    assert secret not in str(described)
    assert described["has_secret"] is True
    assert described["event_types"] == ["incident.opened"]
    stored = await endpoint_row(sessions, uuid.UUID(described["id"]))
    assert secret.encode() not in stored.secret_cipher
    assert decrypt(key, stored.secret_cipher, row_context(org, stored.id)) == secret
    with pytest.raises(DecryptionError):
        decrypt(key, stored.secret_cipher, row_context(org, uuid.uuid4()))
    assert stored.status == "active"


async def test_a_standard_endpoint_does_not_take_a_secret(sessions: Sessions, key: DataKey) -> None:
    org = await _org(sessions)
    result = await try_create(sessions, key, org, PUBLIC, now=NOW, secret="whsec_mine")
    assert result.error is not None
    assert (result.error.code, result.error.field) == ("Invalid", "secret")


async def test_a_chat_bot_keeps_its_platform_secret_sealed(
    sessions: Sessions, key: DataKey
) -> None:
    org = await _org(sessions)
    signed = await try_create(
        sessions, key, org, PUBLIC, now=NOW, kind=EndpointKind.DINGTALK, secret="SECabc123"
    )
    unsigned = await try_create(sessions, key, org, PUBLIC, now=NOW, kind=EndpointKind.WECOM)

    assert signed.ok and unsigned.ok
    assert "secret" not in signed.data and "secret" not in unsigned.data
    row = await endpoint_row(sessions, uuid.UUID(signed.data["endpoint"]["id"]))
    assert decrypt(key, row.secret_cipher, row_context(org, row.id)) == "SECabc123"
    assert (await endpoint_row(sessions, uuid.UUID(unsigned.data["endpoint"]["id"]))).kind == (
        "wecom"
    )
    assert unsigned.data["endpoint"]["has_secret"] is False


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://10.2.3.4/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::1]/hook", "loopback"),
    ],
)
async def test_private_destinations_are_refused_unless_the_policy_allows_them(
    sessions: Sessions, key: DataKey, url: str, reason: str
) -> None:
    org = await _org(sessions)
    refused = await try_create(sessions, key, org, url, now=NOW)
    assert refused.error is not None
    assert (refused.error.code, refused.error.field) == ("Invalid", "url")
    assert f"{reason} address" in refused.error.message

    await allow_private(sessions, org, now=NOW)
    assert (await try_create(sessions, key, org, url, now=NOW)).ok
    assert (await try_create(sessions, key, org, url.replace("https", "http"), now=NOW)).ok


async def test_plain_http_is_refused_without_the_policy(sessions: Sessions, key: DataKey) -> None:
    org = await _org(sessions)
    refused = await try_create(sessions, key, org, "http://93.184.215.14/hook", now=NOW)
    assert refused.error is not None and refused.error.field == "url"
    assert "https://" in refused.error.message


async def test_the_policy_is_set_and_changed(sessions: Sessions) -> None:
    org = await _org(sessions)
    for allowed in (True, False):
        command = SetWebhookPolicy(
            organization_id=org, actor="key-admin", allow_private_destinations=allowed
        )
        async with transaction(sessions) as session:
            result = await policy.set_policy(session, command, now=NOW)
        assert result.data["policy"]["allow_private_destinations"] is allowed
        async with sessions() as session:
            stored = await session.get(WebhookPolicy, org)
            assert stored is not None and stored.allow_private_destinations is allowed


async def test_another_organizations_endpoint_is_not_found(
    sessions: Sessions, key: DataKey
) -> None:
    org = await _org(sessions)
    rival = await _org(sessions, "rival")
    endpoint_id, _ = await create(sessions, key, org, PUBLIC, now=NOW)
    async with transaction(sessions) as session:
        answers = [
            await endpoints.update_endpoint(
                session,
                UpdateWebhookEndpoint(
                    organization_id=rival, actor="x", endpoint_id=endpoint_id, name="mine"
                ),
                now=NOW,
            ),
            await endpoints.rotate_secret(
                session,
                RotateWebhookSecret(organization_id=rival, actor="x", endpoint_id=endpoint_id),
                key,
                now=NOW,
            ),
            await endpoints.delete_endpoint(
                session,
                DeleteWebhookEndpoint(organization_id=rival, actor="x", endpoint_id=endpoint_id),
                now=NOW,
            ),
        ]
    for answer in answers:
        assert answer.error is not None
        assert (answer.error.code, answer.error.field) == ("NotFound", "endpointId")
    assert (await endpoint_row(sessions, endpoint_id)).name == "ticketing"


async def test_an_update_checks_a_new_url_and_enabling_clears_the_failure_state(
    sessions: Sessions, key: DataKey
) -> None:
    org = await _org(sessions)
    endpoint_id, _ = await create(sessions, key, org, PUBLIC, now=NOW)
    later = NOW + timedelta(hours=1)

    async def update(**changes: object) -> CommandResult:
        command = UpdateWebhookEndpoint.model_validate(
            {"organization_id": org, "actor": "key-admin", "endpoint_id": endpoint_id} | changes
        )
        async with transaction(sessions) as session:
            return await endpoints.update_endpoint(session, command, now=later)

    refused = await update(url="https://192.168.0.10/hook")
    assert refused.error is not None and refused.error.field == "url"
    disabled = await update(enabled=False, event_types=[EventType.TASK_OVERDUE])
    assert disabled.data["endpoint"]["status"] == "disabled"
    assert disabled.data["endpoint"]["disabled_reason"].startswith("disabled by key-admin")
    assert disabled.data["endpoint"]["event_types"] == ["task.overdue"]
    enabled = await update(enabled=True, name="ticketing (prod)")
    endpoint = enabled.data["endpoint"]
    assert (endpoint["status"], endpoint["disabled_reason"], endpoint["failing_since"]) == (
        "active",
        None,
        None,
    )
    assert endpoint["name"] == "ticketing (prod)"
    assert (await endpoint_row(sessions, endpoint_id)).url == PUBLIC


async def test_rotation_keeps_the_previous_secret_for_the_overlap(
    sessions: Sessions, key: DataKey
) -> None:
    org = await _org(sessions)
    endpoint_id, old = await create(sessions, key, org, PUBLIC, now=NOW)

    async def rotate(hours: int) -> CommandResult:
        command = RotateWebhookSecret(
            organization_id=org, actor="key-admin", endpoint_id=endpoint_id, overlap_hours=hours
        )
        async with transaction(sessions) as session:
            return await endpoints.rotate_secret(session, command, key, now=NOW)

    first = await rotate(48)
    new = first.data["secret"]
    assert new.startswith("whsec_") and new != old
    row = await endpoint_row(sessions, endpoint_id)
    context = row_context(org, endpoint_id)
    assert decrypt(key, row.secret_cipher, context) == new
    assert row.previous_secret_cipher is not None
    assert decrypt(key, row.previous_secret_cipher, context) == old
    assert row.previous_secret_expires_at == NOW + timedelta(hours=48)

    await rotate(0)
    row = await endpoint_row(sessions, endpoint_id)
    assert (row.previous_secret_cipher, row.previous_secret_expires_at) == (None, None)


async def test_a_chat_bot_secret_is_not_rotated_here(sessions: Sessions, key: DataKey) -> None:
    org = await _org(sessions)
    created = await try_create(
        sessions, key, org, PUBLIC, now=NOW, kind=EndpointKind.FEISHU, secret="feishu"
    )
    command = RotateWebhookSecret(
        organization_id=org,
        actor="key-admin",
        endpoint_id=uuid.UUID(created.data["endpoint"]["id"]),
    )
    async with transaction(sessions) as session:
        refused = await endpoints.rotate_secret(session, command, key, now=NOW)
    assert refused.error is not None and "platform issued" in refused.error.message


async def test_deleting_an_endpoint_removes_its_pending_deliveries(
    sessions: Sessions, key: DataKey
) -> None:
    org = await _org(sessions)
    endpoint_id, _ = await create(sessions, key, org, PUBLIC, now=NOW)
    await emit(sessions, event(org, occurred_at=NOW), now=NOW)
    assert len(await deliveries_of(sessions, endpoint_id)) == 1

    command = DeleteWebhookEndpoint(organization_id=org, actor="key-admin", endpoint_id=endpoint_id)
    async with transaction(sessions) as session:
        assert (await endpoints.delete_endpoint(session, command, now=NOW)).ok
    assert await deliveries_of(sessions, endpoint_id) == []


async def test_redelivery_waits_for_a_disabled_endpoint_to_be_enabled(
    sessions: Sessions, key: DataKey
) -> None:
    org = await _org(sessions)
    endpoint_id, _ = await create(sessions, key, org, PUBLIC, now=NOW)
    await emit(sessions, event(org, occurred_at=NOW), now=NOW)
    [delivery] = await deliveries_of(sessions, endpoint_id)
    disable = UpdateWebhookEndpoint(
        organization_id=org, actor="key-admin", endpoint_id=endpoint_id, enabled=False
    )
    redeliver = RedeliverWebhook(organization_id=org, actor="key-admin", delivery_id=delivery.id)
    async with transaction(sessions) as session:
        await endpoints.update_endpoint(session, disable, now=NOW)
        refused = await endpoints.redeliver(session, redeliver, now=NOW)
        missing = await endpoints.redeliver(
            session,
            RedeliverWebhook(organization_id=org, actor="key-admin", delivery_id=uuid.uuid4()),
            now=NOW,
        )
    assert refused.error is not None and "enable it" in refused.error.message
    assert missing.error is not None and missing.error.code == "NotFound"
