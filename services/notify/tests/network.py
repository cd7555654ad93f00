"""A private test network on which the local receivers have addresses the guard admits.

Loopback is refused whatever the operator lists, so a receiver on 127.0.0.1 cannot be
reached by its own address. The tests give it a stand-in private one instead: 10.77.0.N
stands for 127.0.0.N, the operator's list in the tests is `NETWORK` (10.77.0.0/24), and the
HTTP client's transport carries a connection for 10.77.0.N to 127.0.0.N. Everything before
the connection (resolving, checking, pinning, Host, SNI, the certificate check) is the
production code; only the last hop is the test's, as a router would be.
"""

import ipaddress
import ssl

import httpx

from services.notify.delivery.delivery import TIMEOUT_SECONDS, new_client
from services.notify.endpoints.destinations import PrivateNetworks

NETWORK = PrivateNetworks.parse("10.77.0.0/24")
"""What the tests' operator lets webhooks reach."""

RECEIVER = ipaddress.IPv4Address("10.77.0.1")
"""The local receivers' address on the test network (127.0.0.1 underneath)."""


def stand_in(loopback: str) -> str:
    """Return the test network's address for a loopback address such as 127.0.0.2."""
    return str(NETWORK.networks[0][int(ipaddress.IPv4Address(loopback)) & 0xFF])


class LoopbackRouter(httpx.AsyncBaseTransport):
    """Carries requests for 10.77.0.N to 127.0.0.N, everything else as it is."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is not None and NETWORK.admits(address):
            loopback = ipaddress.IPv4Address((127 << 24) | (int(address) & 0xFF))
            request.url = request.url.copy_with(host=str(loopback))
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def network_client(
    *, timeout: float = TIMEOUT_SECONDS, verify: ssl.SSLContext | bool = True
) -> httpx.AsyncClient:
    """Return the deliveries' client, its connections carried over the test network."""
    inner = httpx.AsyncHTTPTransport(
        verify=verify, limits=httpx.Limits(max_keepalive_connections=0)
    )
    return new_client(timeout=timeout, verify=verify, transport=LoopbackRouter(inner))
