"""Endpoint commands: secrets issued once and sealed, SSRF refusals, tenancy, rotation."""

import base64
import uuid
from datetime import timedelta

import pytest

from libs.contracts.enums import EndpointKind, EventType
from libs.contracts.messages import CommandResult, ErrorCode
from libs.contracts.notify import (
    DeleteWebhookEndpoint,
    RedeliverWebhook,
    RotateWebhookSecret,
    SetWebhookPolicy,
    UpdateWebhookEndpoint,
)
from libs.database.tables import WebhookPolicy
from libs.privacy import DataKey, DecryptionError, Purpose, decrypt, row_context
from services.notify import service
from services.notify.endpoints.destinations import NO_PRIVATE_NETWORKS, PrivateNetworks
from services.notify.tests.builders import (
    NOW,
    PUBLIC,
    create,
    create_command,
    delivered_once,
    deliveries_of,
    endpoint_row,
    organization,
    run,
    try_create,
)
from tests.builders import Sessions


async def test_a_standard_endpoint_gets_a_secret_answered_once_and_stored_sealed(
    rolled_back: Sessions, key: DataKey
) -> None:
    org = await organization(rolled_back)
    result = await try_create(rolled_back, key, org, PUBLIC, now=NOW)

    assert result.ok
    secret = result.once["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    described = result.data["endpoint"]
    assert secret not in str(described)
    assert described["has_secret"] is True
    assert described["event_types"] == ["incident.opened"]
    stored = await endpoint_row(rolled_back, uuid.UUID(described["id"]))
    assert secret.encode() not in stored.secret_cipher
    assert (
        decrypt(key, stored.secret_cipher, row_context(org, stored.id, Purpose.ENDPOINT_SECRET))
        == secret
    )
    with pytest.raises(DecryptionError):
        decrypt(key, stored.secret_cipher, row_context(org, uuid.uuid4(), Purpose.ENDPOINT_SECRET))
    assert stored.status == "active"


async def test_a_standard_endpoint_does_not_take_a_secret(
    rolled_back: Sessions, key: DataKey
) -> None:
    org = await organization(rolled_back)
    result = await try_create(rolled_back, key, org, PUBLIC, now=NOW, secret="whsec_mine")
    assert result.error is not None
    assert (result.error.code, result.error.field) == ("Invalid", "secret")


async def test_without_a_data_key_no_secret_is_issued(rolled_back: Sessions) -> None:
    org = await organization(rolled_back)
    register = create_command(org, PUBLIC)
    rotate = RotateWebhookSecret(organization_id=org, actor="key-admin", endpoint_id=uuid.uuid4())

    refusals = [
        await run(rolled_back, lambda s: service.create_endpoint(s, register, None, now=NOW)),
        await run(rolled_back, lambda s: service.rotate_secret(s, rotate, None, now=NOW)),
    ]

    for refused in refusals:
        assert refused.error is not None
        assert refused.error.code == ErrorCode.INVALID
        assert "CRISISWATCH_DATA_KEY is not set" in refused.error.message


async def test_a_chat_bot_keeps_its_platform_secret_sealed(
    rolled_back: Sessions, key: DataKey
) -> None:
    org = await organization(rolled_back)
    signed = await try_create(
        rolled_back, key, org, PUBLIC, now=NOW, kind=EndpointKind.DINGTALK, secret="SECabc123"
    )
    unsigned = await try_create(rolled_back, key, org, PUBLIC, now=NOW, kind=EndpointKind.WECOM)

    assert signed.ok and unsigned.ok
    assert "secret" not in signed.data and "secret" not in unsigned.data
    row = await endpoint_row(rolled_back, uuid.UUID(signed.data["endpoint"]["id"]))
    assert (
        decrypt(key, row.secret_cipher, row_context(org, row.id, Purpose.ENDPOINT_SECRET))
        == "SECabc123"
    )
    unsigned_id = uuid.UUID(unsigned.data["endpoint"]["id"])
    assert (await endpoint_row(rolled_back, unsigned_id)).kind == "wecom"
    assert unsigned.data["endpoint"]["has_secret"] is False


@pytest.mark.parametrize(
    ("url", "listed"),
    [
        ("https://10.2.3.4/hook", True),
        ("https://[fd12:3456::8]/hook", True),
        ("https://127.0.0.1/hook", False),
        ("https://169.254.169.254/latest/meta-data", False),
        ("https://[::1]/hook", False),
    ],
)
async def test_private_destinations_are_refused_unless_the_operator_lists_them(
    rolled_back: Sessions, key: DataKey, url: str, listed: bool
) -> None:
    org = await organization(rolled_back)
    refused = await try_create(rolled_back, key, org, url, now=NOW, private=NO_PRIVATE_NETWORKS)
    assert refused.error is not None
    assert (refused.error.code, refused.error.field) == ("Invalid", "url")
    assert "resolves to a private or reserved address" in refused.error.message

    # Everything is listed, yet loopback and link-local stay refused.
    everything = PrivateNetworks.parse("0.0.0.0/0, ::/0")
    for variant in (url, url.replace("https", "http")):
        accepted = await try_create(rolled_back, key, org, variant, now=NOW, private=everything)
        assert accepted.ok is listed, accepted.error


async def test_plain_http_is_refused_outside_the_operators_networks(
    rolled_back: Sessions, key: DataKey
) -> None:
    org = await organization(rolled_back)
    refused = await try_create(rolled_back, key, org, "http://93.184.215.14/hook", now=NOW)
    assert refused.error is not None and refused.error.field == "url"
    assert "https://" in refused.error.message


async def test_the_policy_flag_can_be_cleared_but_no_longer_set(rolled_back: Sessions) -> None:
    org = await organization(rolled_back)

    async def set_policy(allowed: bool) -> CommandResult:
        command = SetWebhookPolicy(
            organization_id=org, actor="key-admin", allow_private_destinations=allowed
        )
        return await run(rolled_back, lambda s: service.set_policy(s, command, now=NOW))

    refused = await set_policy(True)
    assert refused.error is not None and refused.error.field == "allowPrivateDestinations"
    assert "CRISISWATCH_WEBHOOK_PRIVATE_CIDRS" in refused.error.message
    async with rolled_back() as session:
        assert await session.get(WebhookPolicy, org) is None

    cleared = await set_policy(False)
    assert cleared.data["policy"]["allow_private_destinations"] is False
    async with rolled_back() as session:
        stored = await session.get(WebhookPolicy, org)
        assert stored is not None and stored.allow_private_destinations is False


async def test_another_organizations_endpoint_is_not_found(
    rolled_back: Sessions, key: DataKey
) -> None:
    org = await organization(rolled_back)
    rival = await organization(rolled_back)
    endpoint_id, _ = await create(rolled_back, key, org, PUBLIC, now=NOW)
    update = UpdateWebhookEndpoint(
        organization_id=rival, actor="x", endpoint_id=endpoint_id, name="mine"
    )
    rotate = RotateWebhookSecret(organization_id=rival, actor="x", endpoint_id=endpoint_id)
    delete = DeleteWebhookEndpoint(organization_id=rival, actor="x", endpoint_id=endpoint_id)

    answers = [
        await run(rolled_back, lambda s: service.update_endpoint(s, update, now=NOW)),
        await run(rolled_back, lambda s: service.rotate_secret(s, rotate, key, now=NOW)),
        await run(rolled_back, lambda s: service.delete_endpoint(s, delete, now=NOW)),
    ]

    for answer in answers:
        assert answer.error is not None
        assert (answer.error.code, answer.error.field) == ("NotFound", "endpointId")
    assert (await endpoint_row(rolled_back, endpoint_id)).name == "ticketing"


async def test_an_update_checks_a_new_url_and_enabling_clears_the_failure_state(
    rolled_back: Sessions, key: DataKey
) -> None:
    org = await organization(rolled_back)
    endpoint_id, _ = await create(rolled_back, key, org, PUBLIC, now=NOW)
    later = NOW + timedelta(hours=1)

    async def update(**changes: object) -> CommandResult:
        command = UpdateWebhookEndpoint.model_validate(
            {"organization_id": org, "actor": "key-admin", "endpoint_id": endpoint_id} | changes
        )
        return await run(rolled_back, lambda s: service.update_endpoint(s, command, now=later))

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
    assert (await endpoint_row(rolled_back, endpoint_id)).url == PUBLIC


async def test_rotation_keeps_the_previous_secret_for_the_overlap(
    rolled_back: Sessions, key: DataKey
) -> None:
    org = await organization(rolled_back)
    endpoint_id, old = await create(rolled_back, key, org, PUBLIC, now=NOW)

    async def rotate(hours: int) -> CommandResult:
        command = RotateWebhookSecret(
            organization_id=org, actor="key-admin", endpoint_id=endpoint_id, overlap_hours=hours
        )
        return await run(rolled_back, lambda s: service.rotate_secret(s, command, key, now=NOW))

    first = await rotate(48)
    new = first.once["secret"]
    assert new.startswith("whsec_") and new != old
    row = await endpoint_row(rolled_back, endpoint_id)
    context = row_context(org, endpoint_id, Purpose.ENDPOINT_SECRET)
    assert decrypt(key, row.secret_cipher, context) == new
    assert row.previous_secret_cipher is not None
    assert decrypt(key, row.previous_secret_cipher, context) == old
    assert row.previous_secret_expires_at == NOW + timedelta(hours=48)

    await rotate(0)
    row = await endpoint_row(rolled_back, endpoint_id)
    assert (row.previous_secret_cipher, row.previous_secret_expires_at) == (None, None)


async def test_a_chat_bot_secret_is_not_rotated_here(rolled_back: Sessions, key: DataKey) -> None:
    org = await organization(rolled_back)
    created = await try_create(
        rolled_back, key, org, PUBLIC, now=NOW, kind=EndpointKind.FEISHU, secret="feishu"
    )
    command = RotateWebhookSecret(
        organization_id=org,
        actor="key-admin",
        endpoint_id=uuid.UUID(created.data["endpoint"]["id"]),
    )

    refused = await run(rolled_back, lambda s: service.rotate_secret(s, command, key, now=NOW))

    assert refused.error is not None and "platform issued" in refused.error.message
    assert (refused.error.code, refused.error.field) == ("Invalid", "endpointId")


async def test_deleting_an_endpoint_removes_its_pending_deliveries(
    rolled_back: Sessions, key: DataKey
) -> None:
    org, endpoint_id, _ = await delivered_once(rolled_back, key)
    assert len(await deliveries_of(rolled_back, endpoint_id)) == 1

    command = DeleteWebhookEndpoint(organization_id=org, actor="key-admin", endpoint_id=endpoint_id)
    assert (await run(rolled_back, lambda s: service.delete_endpoint(s, command, now=NOW))).ok
    assert await deliveries_of(rolled_back, endpoint_id) == []


async def test_redelivery_waits_for_a_disabled_endpoint_to_be_enabled(
    rolled_back: Sessions, key: DataKey
) -> None:
    org, endpoint_id, _ = await delivered_once(rolled_back, key)
    [delivery] = await deliveries_of(rolled_back, endpoint_id)
    disable = UpdateWebhookEndpoint(
        organization_id=org, actor="key-admin", endpoint_id=endpoint_id, enabled=False
    )
    redeliver = RedeliverWebhook(organization_id=org, actor="key-admin", delivery_id=delivery.id)
    missing = RedeliverWebhook(organization_id=org, actor="key-admin", delivery_id=uuid.uuid4())

    await run(rolled_back, lambda s: service.update_endpoint(s, disable, now=NOW))
    refused = await run(rolled_back, lambda s: service.redeliver(s, redeliver, now=NOW))
    unknown = await run(rolled_back, lambda s: service.redeliver(s, missing, now=NOW))

    assert refused.error is not None and "enable it" in refused.error.message
    assert (refused.error.code, refused.error.field) == ("Invalid", "deliveryId")
    assert unknown.error is not None
    assert (unknown.error.code, unknown.error.field) == ("NotFound", "deliveryId")
