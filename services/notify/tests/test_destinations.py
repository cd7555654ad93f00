"""Destination checks: what counts as private, and which URLs are refused before resolving."""

import ipaddress

import pytest

from services.notify.endpoints.destinations import (
    DestinationError,
    PrivateNetworks,
    check_url,
    classify,
    parse_url,
)

TEN = PrivateNetworks.parse("10.0.0.0/8")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("2002:a00:1::", "private"),  # 6to4 for 10.0.0.1
        ("2002:7f00:1::", "loopback"),  # 6to4 for 127.0.0.1
        ("2002:5db8:d70e::", None),  # 6to4 for a public address
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 for 127.0.0.1
        ("fec0::1", "site-local"),
        ("100.100.100.200", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("168.63.129.16", "metadata"),
        ("93.184.215.14", None),
        ("2606:4700::1111", None),
    ],
)
def test_addresses_are_classified(address: str, reason: str | None) -> None:
    assert classify(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/hook", "https://"),
        ("https:///hook", "no host name"),
        ("https://user:pass@example.com/hook", "user name or password"),
        ("https://example.com:99999/hook", "not a valid URL"),
    ],
)
def test_malformed_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(DestinationError, match=message):
        parse_url(url)


async def test_plain_http_is_accepted_only_inside_the_operators_networks() -> None:
    assert await check_url("http://10.0.0.8:8080/hook", private=TEN)
    with pytest.raises(DestinationError, match="http is accepted only inside"):
        await check_url("http://93.184.215.14/hook", private=TEN)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.0.0.8/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]:8443/hook",
        "https://localhost/hook",
    ],
)
async def test_private_destinations_are_refused_by_default(url: str) -> None:
    with pytest.raises(DestinationError, match="refused unless the deployment's operator"):
        await check_url(url)


async def test_a_listed_private_network_is_accepted() -> None:
    assert await check_url("https://10.0.0.8/hook", private=TEN)


async def test_a_public_address_is_accepted() -> None:
    addresses = await check_url("https://93.184.215.14/hook")
    assert addresses == [ipaddress.ip_address("93.184.215.14")]


async def test_a_host_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(DestinationError, match="does not resolve"):
        await check_url("https://no-such-host.invalid/hook", private=TEN)


def test_a_malformed_operator_network_is_refused() -> None:
    with pytest.raises(ValueError, match="CRISISWATCH_WEBHOOK_PRIVATE_CIDRS"):
        PrivateNetworks.parse("10.0.0.0/8, 10.0.0.1/8")
