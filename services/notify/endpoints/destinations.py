"""Where a webhook may point: public HTTPS hosts, or private ones when the organization says so.

A webhook makes this service send requests on behalf of whoever configured it, so a URL
naming an internal address (a database, a cloud metadata service at 169.254.169.254, the
loopback interface) would turn it into a probe of the network it runs in (server-side request
forgery). Every address the host resolves to is checked, both when the endpoint is saved and
again before each delivery, because a name can be re-pointed after it was accepted.

A delivery then connects to one of exactly the addresses it checked (`pin`), never to the
name: a DNS server that answers a public address to the check and 127.0.0.1 to the
connection a moment later (DNS rebinding) would otherwise get the request inside.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
"""Resolves a host name and port to addresses; `resolve` in production, a stand-in in tests."""


class DestinationError(ValueError):
    """A URL is malformed, does not resolve, or names an address the organization refuses."""


def classify(address: IPAddress) -> str | None:
    """Return why `address` is not a public destination (e.g. "loopback"), or None if it is."""
    if isinstance(address, ipaddress.IPv6Address):
        # IPv4 inside IPv6 (::ffff:a.b.c.d, and 6to4's 2002:a.b.c.d::/48) reaches that IPv4
        # address, so it is judged as that address.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            address = embedded
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:
        # Shared address space (100.64.0.0/10) and the like: not reachable from the Internet.
        return "non-public"
    return None


def parse_url(url: str, *, allow_private: bool) -> SplitResult:
    """Return the parts of `url`, refusing anything but https (or http when private is allowed)."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - reading it validates the port number
    except ValueError as error:
        raise DestinationError(f"url is not a valid URL: {error}") from error
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed:
        hint = "" if allow_private else " (http is accepted only when private destinations are)"
        raise DestinationError(f"url must start with https://{hint}")
    if not parts.hostname:
        raise DestinationError("url has no host name")
    if parts.username is not None or parts.password is not None:
        raise DestinationError("url must not carry a user name or password")
    return parts


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Return every address `host` resolves to, without blocking the event loop."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise DestinationError(f"url host {host!r} does not resolve") from error
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        # IPv6 scope ids ("fe80::1%eth0") are not part of the address itself.
        text = str(sockaddr[0]).split("%", 1)[0]
        address = ipaddress.ip_address(text)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise DestinationError(f"url host {host!r} does not resolve")
    return addresses


@dataclass(frozen=True)
class Destination:
    """A URL's host with the addresses it resolved to, every one of them checked."""

    host: str
    port: int
    addresses: tuple[IPAddress, ...]


async def pin(url: str, *, allow_private: bool, resolve: Resolver = resolve) -> Destination:
    """Resolve `url`'s host once and check every address; raise DestinationError if one fails.

    The caller connects only to the returned addresses: resolving the name again could give
    another answer than the one checked.
    """
    parts = parse_url(url, allow_private=allow_private)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await resolve(host, port)
    if not addresses:
        raise DestinationError(f"url host {host!r} does not resolve")
    if not allow_private:
        for address in addresses:
            reason = classify(address)
            if reason is not None:
                raise DestinationError(
                    f"url host {host!r} resolves to {reason} address {address}; such "
                    "destinations are refused unless the organization's webhook policy allows "
                    "private destinations"
                )
    return Destination(host, port, tuple(addresses))


async def check_url(
    url: str, *, allow_private: bool, resolve: Resolver = resolve
) -> list[IPAddress]:
    """Validate `url` and its resolved addresses; return them, or raise DestinationError."""
    return list((await pin(url, allow_private=allow_private, resolve=resolve)).addresses)
