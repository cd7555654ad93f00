"""Deliveries connect to the address they checked: DNS rebinding, Host, SNI and redirects.

The host name is resolved by a stand-in resolver the test controls, so it can answer a
public address to the check and the loopback address to anyone asking again, the way a
rebinding DNS server does. The receivers are real servers on 127.0.0.1, one over TLS with
a certificate from a test authority, reached by their address on the test network
(`network.RECEIVER`), which the tests' operator list admits.
"""

import ipaddress
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from libs.database.engine import transaction
from libs.database.tables import WebhookEndpoint
from libs.privacy import DataKey
from services.notify.delivery.delivery import Answer, send
from services.notify.endpoints.destinations import IPAddress
from services.notify.tests.builders import (
    Receiver,
    attempt,
    deliveries_of,
    dispatch,
    emit,
    event,
    forget_other_deliveries,
    local_endpoint,
    serve_receiver,
)
from services.notify.tests.certificates import LocalAuthority, issue
from services.notify.tests.network import NETWORK, RECEIVER, network_client, stand_in
from tests.builders import Sessions

PUBLIC = ipaddress.ip_address("93.184.215.14")
LOOPBACK = ipaddress.ip_address("127.0.0.1")
HOOKS_HOST = "hooks.acme.test"


class Resolver:
    """Answers from a script, then the last answer again; counts who asked for what."""

    def __init__(self, *answers: list[IPAddress]) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append((host, port))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture(scope="module")
def authority() -> LocalAuthority:
    return issue(HOOKS_HOST, "localhost")


@pytest.fixture(scope="module")
def tls_server(
    authority: LocalAuthority, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Receiver]:
    directory: Path = tmp_path_factory.mktemp("tls")
    yield from serve_receiver(lambda on_name: authority.server_context(directory, on_name))


@pytest.fixture
def tls(tls_server: Receiver) -> Receiver:
    tls_server.reset()
    return tls_server


async def _send(
    url: str,
    resolver: Resolver,
    *,
    authority: LocalAuthority | None = None,
    timeout: float = 10.0,
) -> Answer:
    verify = authority.client_context() if authority else True
    async with network_client(timeout=timeout, verify=verify) as client:
        return await send(
            client, attempt(url), now=datetime.now(UTC), private=NETWORK, resolve=resolver
        )


async def _send_over_tls(tls: Receiver, authority: LocalAuthority, host: str, path: str) -> Answer:
    """Send to `path` at `host` on the TLS receiver, `host` resolving to its address."""
    url = f"https://{host}:{tls.port}/{path}"
    return await _send(url, Resolver([RECEIVER]), authority=authority)


async def test_a_rebinding_name_never_reaches_the_local_receiver(
    tls: Receiver, authority: LocalAuthority
) -> None:
    # "localhost" is what the machine's own resolver would answer 127.0.0.1 for, and the
    # certificate covers it: a second lookup of any kind would reach the receiver.
    rebinding = Resolver([PUBLIC], [LOOPBACK])

    answer = await _send(
        f"https://localhost:{tls.port}/rebind", rebinding, authority=authority, timeout=2.0
    )

    # The one connection tried went to the address the check approved, nowhere else.
    assert answer.status_code is None and answer.error is not None
    assert answer.error.startswith("cannot connect to localhost: "), answer.error
    assert rebinding.asked == [("localhost", tls.port)]
    assert tls.on("rebind") == [] and tls.server_names == []


async def test_every_address_is_checked_before_any_is_used(receiver: Receiver) -> None:
    resolver = Resolver([PUBLIC, LOOPBACK])

    answer = await _send(f"https://{HOOKS_HOST}:{receiver.port}/mixed", resolver)

    assert answer.error is not None and "a private or reserved address" in answer.error
    assert receiver.on("mixed") == []


async def test_the_request_goes_to_the_checked_address_with_the_configured_host(
    receiver: Receiver,
) -> None:
    resolver = Resolver([RECEIVER])

    answer = await _send(f"http://{HOOKS_HOST}:{receiver.port}/pinned", resolver)

    assert answer.succeeded, answer
    [request] = receiver.on("pinned")
    assert request.headers["host"] == f"{HOOKS_HOST}:{receiver.port}"
    assert resolver.asked == [(HOOKS_HOST, receiver.port)]


async def test_the_next_checked_address_is_tried_when_one_refuses(receiver: Receiver) -> None:
    # Nothing listens on 127.0.0.2 (the receiver is bound to 127.0.0.1 only).
    resolver = Resolver([ipaddress.ip_address(stand_in("127.0.0.2")), RECEIVER])

    answer = await _send(f"http://{HOOKS_HOST}:{receiver.port}/second", resolver)

    assert answer.succeeded, answer
    assert len(receiver.on("second")) == 1


async def test_tls_is_verified_for_the_configured_host_while_connecting_to_the_address(
    tls: Receiver, authority: LocalAuthority
) -> None:
    answer = await _send_over_tls(tls, authority, HOOKS_HOST, "secure")

    assert answer.succeeded, answer
    [request] = tls.on("secure")
    assert request.headers["host"] == f"{HOOKS_HOST}:{tls.port}"
    assert tls.server_names == [HOOKS_HOST]


async def test_a_certificate_for_another_name_is_refused(
    tls: Receiver, authority: LocalAuthority
) -> None:
    answer = await _send_over_tls(tls, authority, "other.acme.test", "impostor")

    assert answer.status_code is None
    assert answer.error is not None and "CERTIFICATE_VERIFY_FAILED" in answer.error
    assert tls.on("impostor") == []
    assert tls.server_names == ["other.acme.test"]


async def test_a_redirect_is_a_failure_and_is_not_followed(receiver: Receiver) -> None:
    receiver.answer("moved", 307, headers={"location": f"{receiver.base_url}/elsewhere"})

    answer = await _send(f"http://{HOOKS_HOST}:{receiver.port}/moved", Resolver([RECEIVER]))

    assert answer.status_code == 307
    assert answer.error is not None and "redirects are not followed" in answer.error
    assert len(receiver.on("moved")) == 1 and receiver.on("elsewhere") == []


async def test_a_delivery_by_name_through_the_dispatcher_carries_the_host_header(
    rolled_back: Sessions, key: DataKey, receiver: Receiver
) -> None:
    await forget_other_deliveries(rolled_back)
    now = datetime.now(UTC).replace(microsecond=0)
    org, endpoint_id, _ = await local_endpoint(rolled_back, key, receiver.url("by-name"), now=now)
    # The name was saved when it pointed elsewhere; it resolves to the receiver now.
    async with transaction(rolled_back) as session:
        row = await session.get(WebhookEndpoint, endpoint_id)
        assert row is not None
        row.url = f"http://{HOOKS_HOST}:{receiver.port}/by-name"
    await emit(rolled_back, event(org, occurred_at=now), now=now)

    assert await dispatch(rolled_back, key, now=now, resolve=Resolver([RECEIVER])) == 1

    [request] = receiver.on("by-name")
    assert request.headers["host"] == f"{HOOKS_HOST}:{receiver.port}"
    [delivery] = await deliveries_of(rolled_back, endpoint_id)
    assert delivery.status == "succeeded"
