"""Findings 1, 9 and 10 (webhook destinations and reads) replayed as attacks.

Findings 1 and 10 run on the real notify code; finding 9 asks a served gateway for what
only admins may read.

The receiver is a real server on 127.0.0.1 (`services.notify.tests.builders`). An attack
aims the service at it, or at a private or metadata address, and must reach nothing. Where
a test lets the operator list the test network, deliveries reach the receiver by its
stand-in address 10.77.0.1 (`services.notify.tests.network`), as they would reach an
on-premises integrator the operator listed.
"""

import ipaddress
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.tests.builders import delivery as logged_delivery
from gateway.tests.builders import endpoint as registered_endpoint
from gateway.tests.conftest import GraphQL, acme, app, client, gid, gql, settings  # noqa: F401
from libs.contracts.enums import EndpointKind, EventType, Role
from libs.contracts.notify import CreateWebhookEndpoint, SetWebhookPolicy
from libs.database.engine import transaction
from libs.database.tables import WebhookEndpoint, WebhookPolicy
from libs.privacy import DataKey, generate_key
from services.notify import service
from services.notify.endpoints.destinations import (
    DestinationError,
    IPAddress,
    PrivateNetworks,
    check_url,
)
from services.notify.tests.builders import (
    Receiver,
    deliveries_of,
    dispatch,
    emit,
    event,
    forget_other_deliveries,
    organization,
    run,
    serve_receiver,
    try_create,
)
from services.notify.tests.network import RECEIVER
from services.notify.worker import dispatch_once
from tests.builders import Sessions, Tenant

EVERYTHING = PrivateNetworks.parse("0.0.0.0/0, ::/0")
"""An operator list that admits every network: what stays refused is refused regardless."""

TEN = PrivateNetworks.parse("10.77.0.0/24")
"""The operator lists the test network the receiver's stand-in address is on."""

SECRET = "db-password=hunter2-7f3a9c"
"""What an internal service would answer, and must never come back to the tenant."""


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[Receiver]:
    yield from serve_receiver()


@pytest.fixture
def receiver(receiver_server: Receiver) -> Receiver:
    receiver_server.reset()
    return receiver_server


@pytest.fixture
def key() -> DataKey:
    return DataKey.from_base64(generate_key())


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def _legacy_endpoint(sessions: Sessions, organization_id: uuid.UUID, url: str) -> uuid.UUID:
    """Store what the old tenant flag let an organization save: the flag on and an endpoint
    at `url`, as rows, the way they may still be in a database upgraded from then."""
    async with transaction(sessions) as session:
        await session.exec(
            insert(WebhookPolicy).values(
                organization_id=organization_id, allow_private_destinations=True, updated_at=now()
            )
        )
        endpoint = WebhookEndpoint(
            id=uuid.uuid4(),
            organization_id=organization_id,
            name="internal",
            kind=EndpointKind.WECOM.value,
            url=url,
            event_types=[EventType.INCIDENT_OPENED],
            secret_cipher=b"",
            status="active",
            created_at=now(),
            updated_at=now(),
        )
        session.add(endpoint)
    return endpoint.id


async def test_a_tenant_turning_the_flag_on_cannot_aim_webhooks_at_loopback(
    rolled_back: Sessions, key: DataKey, receiver: Receiver
) -> None:
    await forget_other_deliveries(rolled_back)
    org = await organization(rolled_back)
    flag = SetWebhookPolicy(organization_id=org, actor="key-admin", allow_private_destinations=True)
    create = CreateWebhookEndpoint(
        organization_id=org,
        actor="key-admin",
        name="probe",
        url=receiver.loopback_url + "/probe",
        event_types=[EventType.INCIDENT_OPENED],
    )

    policy = await run(rolled_back, lambda s: service.set_policy(s, flag, now=now()))
    created = await run(rolled_back, lambda s: service.create_endpoint(s, create, key, now=now()))
    await emit(rolled_back, event(org, occurred_at=now()), now=now())
    await dispatch_once(rolled_back, key, now=now())

    assert policy.error is not None and policy.error.field == "allowPrivateDestinations"
    assert created.error is not None and created.error.field == "url"
    assert receiver.received == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/inside",
        "http://localhost:{port}/inside",
        "http://[::ffff:127.0.0.1]:{port}/inside",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://0.0.0.0:{port}/inside",
    ],
)
async def test_a_flag_stored_earlier_grants_nothing_even_when_the_operator_lists_everything(
    rolled_back: Sessions, key: DataKey, receiver: Receiver, url: str
) -> None:
    await forget_other_deliveries(rolled_back)
    org = await organization(rolled_back)
    endpoint_id = await _legacy_endpoint(rolled_back, org, url.format(port=receiver.port))
    await emit(rolled_back, event(org, occurred_at=now()), now=now())

    await dispatch(rolled_back, key, now=now(), private=EVERYTHING)

    assert receiver.received == []
    [delivery] = await deliveries_of(rolled_back, endpoint_id)
    assert delivery.last_status_code is None
    assert delivery.last_error is not None
    assert "resolves to a private or reserved address" in delivery.last_error


async def test_the_operator_list_admits_its_network_and_no_other(
    rolled_back: Sessions, key: DataKey, receiver: Receiver
) -> None:
    await forget_other_deliveries(rolled_back)
    org = await organization(rolled_back)

    inside = receiver.url("listed")
    listed = await try_create(rolled_back, key, org, inside, now=now(), private=TEN)
    outside = "https://10.1.2.3/hook"
    unlisted = await try_create(rolled_back, key, org, outside, now=now(), private=TEN)
    await emit(rolled_back, event(org, occurred_at=now()), now=now())
    await dispatch(rolled_back, key, now=now(), private=TEN)

    assert listed.ok, listed.error
    assert unlisted.error is not None and unlisted.error.field == "url"
    assert len(receiver.on("listed")) == 1


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "::1", "169.254.169.254", "fe80::1", "fd00:ec2::254", "fec0::1", "0.0.0.0"],
)
async def test_what_stays_refused_is_refused_whatever_the_operator_lists(address: str) -> None:
    with pytest.raises(DestinationError):
        await check_url("https://hooks.acme.test/in", private=EVERYTHING, resolve=_to(address))


@pytest.mark.parametrize(
    ("kind", "status", "body"),
    [
        (EndpointKind.STANDARD, 500, SECRET.encode()),
        (EndpointKind.STANDARD, 302, SECRET.encode()),
        (EndpointKind.WECOM, 200, SECRET.encode()),
        (EndpointKind.WECOM, 200, b'{"errcode": 40001, "errmsg": "' + SECRET.encode() + b'"}'),
        (EndpointKind.DINGTALK, 200, b'{"errmsg": "' + SECRET.encode() + b'"}'),
        (EndpointKind.FEISHU, 200, b'{"code": "' + SECRET.encode() + b'"}'),
        (EndpointKind.FEISHU, 503, SECRET.encode()),
    ],
)
async def test_a_receivers_answer_never_reaches_the_delivery_log(
    rolled_back: Sessions,
    key: DataKey,
    receiver: Receiver,
    kind: EndpointKind,
    status: int,
    body: bytes,
) -> None:
    await forget_other_deliveries(rolled_back)
    org = await organization(rolled_back)
    created = await try_create(rolled_back, key, org, receiver.url("echo"), now=now(), kind=kind)
    assert created.ok, created.error
    receiver.answer("echo", status, body=body)
    await emit(rolled_back, event(org, occurred_at=now()), now=now())

    await dispatch(rolled_back, key, now=now())

    assert len(receiver.on("echo")) == 1
    [delivery] = await deliveries_of(rolled_back, uuid.UUID(created.data["endpoint"]["id"]))
    assert delivery.last_status_code == status
    assert delivery.last_error is not None
    assert "hunter2" not in delivery.last_error and "password" not in delivery.last_error
    if status >= 300:
        assert delivery.last_error.startswith(f"receiver answered {status}")


def _to(*addresses: str) -> "Resolve":
    return Resolve([ipaddress.ip_address(address) for address in addresses])


class Resolve:
    """A DNS answer the attacker controls."""

    def __init__(self, addresses: list[IPAddress]) -> None:
        self.addresses = addresses

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        return self.addresses


@pytest.mark.parametrize(
    "addresses",
    [("fec0::1",), ("fec0::1", "2606:4700::1111"), ("10.1.2.3",), ("93.184.215.14", "127.0.0.1")],
)
async def test_a_refusal_does_not_say_what_a_name_resolved_to(addresses: tuple[str, ...]) -> None:
    with pytest.raises(DestinationError) as refused:
        await check_url("https://intranet.acme.test/in", resolve=_to(*addresses))

    message = str(refused.value)
    assert "resolves to a private or reserved address" in message
    for address in addresses:
        assert address not in message
    assert str(RECEIVER) not in message


# --- finding 9: endpoint configuration and delivery details are admin-only ---------------

HOOK_URL = "https://hooks.intranet.acme.example/crisis?token=abcdefghijklmnop"
CARRIED = {"incident": {"title": "奶粉质量投诉集中爆发", "owner": "王经理"}}
ANSWERED = "receiver answered 500"


async def _logged(sessions: async_sessionmaker[AsyncSession], owner: Tenant) -> tuple[str, str]:
    """Store an endpoint, disabled mid-rotation, with one failed delivery; return their ids."""
    async with transaction(sessions) as session:
        hook = await registered_endpoint(session, owner.org.id, url=HOOK_URL)
        hook.status, hook.disabled_reason = "disabled", f"disabled: {ANSWERED}"
        hook.previous_secret_expires_at = now()
        session.add(hook)
        sent = await logged_delivery(
            session,
            hook,
            now(),
            status="failed",
            payload=CARRIED,
            last_error=ANSWERED,
            last_status_code=500,
        )
    return gid("WebhookEndpoint", hook.id), gid("WebhookDelivery", sent.id)


SECRET_READS = [
    "{ webhookEndpoints { name url } }",
    "{ webhookEndpoints { name disabledReason } }",
    "{ webhookEndpoints { name previousSecretExpiresAt } }",
    "{ webhookDeliveries(first: 5) { edges { node { status payload } } } }",
    "{ webhookDeliveries(first: 5) { edges { node { status lastError } } } }",
    "{ webhookDeliveries(first: 5) { edges { node { endpoint { url } } } } }",
    "query($e: ID!) { node(id: $e) { ... on WebhookEndpoint { url } } }",
    "query($d: ID!) { node(id: $d) { ... on WebhookDelivery { payload lastError } } }",
]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.RESPONDER])
@pytest.mark.parametrize("query", SECRET_READS)
async def test_a_non_admin_key_cannot_read_where_webhooks_point_or_what_they_carried(
    gql: GraphQL,  # noqa: F811
    sessions: async_sessionmaker[AsyncSession],
    acme: Tenant,  # noqa: F811
    role: Role,
    query: str,
) -> None:
    endpoint_id, delivery_id = await _logged(sessions, acme)
    variables = {key: value for key, value in (("e", endpoint_id), ("d", delivery_id))}
    used = {name: value for name, value in variables.items() if f"${name}" in query}

    body = await gql(acme.auth(role), query, used)

    assert body.get("errors"), body
    assert "may not read" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    answer = str(body.get("data"))
    for secret in ("intranet", "abcdefghijklmnop", "王经理", ANSWERED):
        assert secret not in answer


@pytest.mark.parametrize("role", [Role.VIEWER, Role.RESPONDER, Role.ADMIN])
async def test_every_reader_still_sees_whether_alerts_go_out(
    gql: GraphQL,  # noqa: F811
    sessions: async_sessionmaker[AsyncSession],
    acme: Tenant,  # noqa: F811
    role: Role,
) -> None:
    await _logged(sessions, acme)

    body = await gql(
        acme.auth(role),
        "{ webhookEndpoints { name kind status failingSince } "
        "webhookDeliveries(first: 5) { edges { node { status attempts lastStatusCode } } } }",
    )

    assert "errors" not in body, body
    assert body["data"]["webhookEndpoints"][0]["status"] == "disabled"
    assert body["data"]["webhookDeliveries"]["edges"][0]["node"]["lastStatusCode"] == 500


async def test_an_admin_key_reads_the_configuration_and_the_details(
    gql: GraphQL,  # noqa: F811
    sessions: async_sessionmaker[AsyncSession],
    acme: Tenant,  # noqa: F811
) -> None:
    await _logged(sessions, acme)

    body = await gql(
        acme.auth(Role.ADMIN),
        "{ webhookEndpoints { url disabledReason previousSecretExpiresAt } "
        "webhookDeliveries(first: 5) { edges { node { payload lastError } } } }",
    )

    assert "errors" not in body, body
    [hook] = body["data"]["webhookEndpoints"]
    assert hook["url"] == "https://hooks.intranet.acme.example/crisis?token=***mnop"
    [edge] = body["data"]["webhookDeliveries"]["edges"]
    assert edge["node"]["lastError"] == ANSWERED
