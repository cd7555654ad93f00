"""Where a webhook may point: public HTTPS hosts, or private networks the operator names.

A webhook makes this service send requests on behalf of whoever configured it, so a URL
naming an internal address (a database, a cloud metadata service at 169.254.169.254, the
loopback interface) would turn it into a probe of the network it runs in (server-side request
forgery). Every address the host resolves to is checked, both when the endpoint is saved and
again before each delivery, because a name can be re-pointed after it was accepted.

Which private networks deliveries may reach is the operator's decision, never an
organization's: a deployment serves many organizations, and one of them must not be able to
aim the service at the others' infrastructure. The operator lists CIDRs
(`CRISISWATCH_WEBHOOK_PRIVATE_CIDRS`, `PrivateNetworks`); loopback, link-local, cloud
metadata, unspecified, multicast and the deprecated site-local addresses (`ALWAYS_REFUSED`)
stay refused whatever is listed, since nothing legitimate is served to a webhook there.
A refusal says "a private or reserved address", never which address a name resolved to:
that would map an internal network for whoever types names into the URL field.

A delivery then connects to one of exactly the addresses it checked (`pin`), never to the
name: a DNS server that answers a public address to the check and 127.0.0.1 to the
connection a moment later (DNS rebinding) would otherwise get the request inside.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
"""Resolves a host name and port to addresses; `resolve` in production, a stand-in in tests."""

PRIVATE_CIDRS_SETTING = "CRISISWATCH_WEBHOOK_PRIVATE_CIDRS"

ALWAYS_REFUSED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(cidr), reason)
    for cidr, reason in (
        ("0.0.0.0/8", "unspecified"),  # "this network": 0.0.0.0 reaches the host itself
        ("::/128", "unspecified"),
        ("127.0.0.0/8", "loopback"),
        ("::1/128", "loopback"),
        ("169.254.0.0/16", "link-local"),  # metadata of AWS, GCP, Azure, Tencent, Huawei
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),  # deprecated (RFC 3879), still routed inside some sites
        ("100.100.100.200/32", "metadata"),  # Alibaba Cloud
        ("168.63.129.16/32", "metadata"),  # Azure's host (wire server), a public address
        ("192.0.0.192/32", "metadata"),  # Oracle Cloud
        ("fd00:ec2::/32", "metadata"),  # AWS over IPv6 (fd00:ec2::254 and its neighbours)
        ("224.0.0.0/4", "multicast"),
        ("ff00::/8", "multicast"),
        ("240.0.0.0/4", "reserved"),  # and 255.255.255.255, the broadcast address
        ("::/8", "reserved"),  # IPv4-compatible (::a.b.c.d) and other retired forms
    )
)
"""Networks refused whatever the operator lists, each with why."""

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class DestinationError(ValueError):
    """A URL is malformed, does not resolve, or names an address that is refused."""


@dataclass(frozen=True)
class PrivateNetworks:
    """The private networks the operator lets webhooks reach; none by default."""

    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, cidrs: str | Iterable[str]) -> "PrivateNetworks":
        """Read a comma-separated list of CIDRs (`10.20.0.0/16, fd12::/48`); raise on a typo.

        A network with host bits set (`10.0.0.1/8`) is refused rather than widened, since it
        is more likely a mistake than a wish.
        """
        items = cidrs.split(",") if isinstance(cidrs, str) else cidrs
        networks: list[IPNetwork] = []
        for item in items:
            text = item.strip()
            if not text:
                continue
            try:
                networks.append(ipaddress.ip_network(text))
            except ValueError as error:
                raise ValueError(f"{PRIVATE_CIDRS_SETTING}: {error}") from error
        return cls(tuple(networks))

    def admits(self, address: IPAddress) -> bool:
        """Return whether `address`, or the IPv4 address it embeds, is in a listed network."""
        candidates = {address, _effective(address)}
        return any(one in network for one in candidates for network in self.networks)


NO_PRIVATE_NETWORKS = PrivateNetworks()


def _effective(address: IPAddress) -> IPAddress:
    """Return the IPv4 address an IPv6 form reaches, or `address` itself.

    IPv4 inside IPv6 (::ffff:a.b.c.d, 6to4's 2002:a.b.c.d::/48, NAT64's 64:ff9b::a.b.c.d)
    reaches that IPv4 address, so it is judged as that address.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return embedded
    return address


def refused_always(address: IPAddress) -> str | None:
    """Return why `address` is refused whatever the operator allows, or None."""
    address = _effective(address)
    for network, reason in ALWAYS_REFUSED:
        if address.version == network.version and address in network:
            return reason
    # The standard library's view, in case it knows a range the table above does not.
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
    return None


def classify(address: IPAddress) -> str | None:
    """Return why `address` is not a public destination (e.g. "loopback"), or None if it is."""
    always = refused_always(address)
    if always is not None:
        return always
    address = _effective(address)
    if address.is_private:
        return "private"
    if not address.is_global:
        # Shared address space (100.64.0.0/10) and the like: not reachable from the Internet.
        return "non-public"
    return None


def parse_url(url: str) -> SplitResult:
    """Return the parts of an http(s) `url` without credentials; raise DestinationError.

    Whether plain http is acceptable depends on where the host resolves (see `pin`).
    """
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - reading it validates the port number
    except ValueError as error:
        raise DestinationError(f"url is not a valid URL: {error}") from error
    if parts.scheme not in ("https", "http"):
        raise DestinationError("url must start with https://")
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


def _admitted(address: IPAddress, private: PrivateNetworks) -> bool:
    """Return whether a delivery may connect to `address`; True only for a private one
    the operator lists, or a public one."""
    if refused_always(address) is not None:
        return False
    return private.admits(address) or classify(address) is None


async def pin(
    url: str, *, private: PrivateNetworks = NO_PRIVATE_NETWORKS, resolve: Resolver = resolve
) -> Destination:
    """Resolve `url`'s host once and check every address; raise DestinationError if one fails.

    Plain http is accepted only when every address lies in the operator's private networks:
    on the Internet a payload and its signature travel encrypted. The caller connects only
    to the returned addresses: resolving the name again could give another answer than the
    one checked.
    """
    parts = parse_url(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await resolve(host, port)
    if not addresses:
        raise DestinationError(f"url host {host!r} does not resolve")
    if not all(_admitted(address, private) for address in addresses):
        raise DestinationError(
            f"url host {host!r} resolves to a private or reserved address; such destinations "
            "are refused unless the deployment's operator lists their network"
        )
    if parts.scheme == "http" and not all(private.admits(address) for address in addresses):
        raise DestinationError(
            "url must start with https:// (http is accepted only inside the private networks "
            "the deployment's operator lists)"
        )
    return Destination(host, port, tuple(addresses))


async def check_url(
    url: str, *, private: PrivateNetworks = NO_PRIVATE_NETWORKS, resolve: Resolver = resolve
) -> list[IPAddress]:
    """Validate `url` and its resolved addresses; return them, or raise DestinationError."""
    return list((await pin(url, private=private, resolve=resolve)).addresses)
