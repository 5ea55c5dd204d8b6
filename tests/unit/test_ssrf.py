"""Webhooks reach public addresses only: every spelling of an internal address is refused (no DNS needed)."""

from __future__ import annotations

import asyncio
import re
import socket
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.outbound.ssrf import (
    URL_PATTERN,
    MalformedTarget,
    Target,
    UnsafeTarget,
    check_address,
    check_url,
    literal_ip,
    parse_target,
    resolve_checked,
)

# Refused by default, allowed for installations that post to their own network (allow_private=True).
PRIVATE_ADDRESSES = [
    "http://127.0.0.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://017700000001/",
    "http://127.1/",
    "http://0x7f.1/",
    "http://0X7F.0.0.1./",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::127.0.0.1]/",
    "http://10.0.0.1/",
    "http://10.1.2/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://192.0.0.8/",
    "http://198.18.0.1/",
    "http://192.0.2.1/",
    "http://[fe80::1]/",
    "http://[fec0::1]/",
    "http://[fc00::1]/",
    "http://[2001:db8::1]/",
    "http://[2001::1]/",
    "http://[64:ff9b::a00:1]/",
    "http://[2002:a00:1::]/",
    "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/",  # fullwidth digits, folded by IDNA
]
LOCAL_NAMES = [
    "http://localhost/",
    "http://LOCALHOST./",
    "http://api.localhost/",
    "http://printer.local/",
    "http://db.corp.internal/",
    "http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/",  # fullwidth letters, folded by IDNA
]
PRIVATE = PRIVATE_ADDRESSES + LOCAL_NAMES
# Refused even with allow_private=True: metadata services, link-local IPv4, multicast, unspecified, reserved.
ALWAYS = [
    "http://169.254.169.254/latest/meta-data",
    "http://2852039166/",
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://[::ffff:169.254.169.254]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:a9fe:a9fe::]/",
    "http://169.254.170.2/v2/credentials",
    "http://169.254.1.1/",
    "http://[fd00:ec2::254]/",
    "http://100.100.100.200/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    # Not webhook URLs at all.
    "http://user:pw@example.com/",
    "http://@example.com/",
    "http://example.com@127.0.0.1/",
    "ftp://example.com/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_FLUSHALL",
    "http:///path",
    "http://example.com:0/",
    "http://example.com:65536/",
    "http://example.com:+80/",
    "http://[::1/",
    "http://[127.0.0.1]/",
    "http://[fe80::1%25eth0]/",
    "http://%31%32%37.0.0.1/",
    "http://evil.com\\@127.0.0.1/",
    "http://exa mple.com/",
    "http://example.com\n/",
]
PUBLIC = ["https://93.184.216.34/hook", "https://[2606:2800:220:1:248:1893:25c8:1946]/", "http://[2002:5db8:d822::1]/"]


async def resolve(url: str, *, allow_private: bool) -> str:
    return await resolve_checked(parse_target(url), allow_private=allow_private)


@pytest.mark.parametrize("url", PRIVATE + ALWAYS)
async def test_internal_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        check_url(url, allow_private=False)
    with pytest.raises(UnsafeTarget):
        await resolve(url, allow_private=False)


@pytest.mark.parametrize("url", ALWAYS)
async def test_metadata_and_special_addresses_are_refused_even_when_private_ones_are_allowed(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        check_url(url, allow_private=True)
    with pytest.raises(UnsafeTarget):
        await resolve(url, allow_private=True)


@pytest.mark.parametrize("url", PRIVATE_ADDRESSES)
async def test_private_addresses_are_allowed_when_the_installation_says_so(url: str) -> None:
    check_url(url, allow_private=True)
    assert await resolve(url, allow_private=True)


@pytest.mark.parametrize("url", LOCAL_NAMES)
def test_local_names_pass_the_registration_check_when_private_addresses_are_allowed(url: str) -> None:
    check_url(url, allow_private=True)


@pytest.mark.parametrize("url", PUBLIC)
async def test_public_addresses_are_accepted(url: str) -> None:
    target = check_url(url, allow_private=False)
    assert await resolve(url, allow_private=False) == target.host


def test_messages_say_what_and_why() -> None:
    with pytest.raises(UnsafeTarget, match=r"a private address \(10\.0\.0\.1\); webhooks go to public addresses only"):
        check_url("http://10.0.0.1/", allow_private=False)
    with pytest.raises(UnsafeTarget, match=r"a loopback address \(::ffff:7f00:1, that is 127\.0\.0\.1\)"):
        check_url("http://[::ffff:127.0.0.1]/", allow_private=False)
    with pytest.raises(UnsafeTarget, match="cloud metadata"):
        check_url("http://169.254.169.254/", allow_private=True)
    with pytest.raises(UnsafeTarget, match="user name or password"):
        parse_target("https://user:pw@example.com/")
    assert isinstance(UnsafeTarget("x"), ValueError)


def test_targets_are_normalised() -> None:
    assert parse_target("HTTPS://Example.COM/a/b?x=1#frag") == Target("https", "example.com", 443, "/a/b?x=1")
    assert parse_target("http://example.com") == Target("http", "example.com", 80, "/")
    assert parse_target("http://example.com:8080?q") == Target("http", "example.com", 8080, "/?q")
    assert parse_target("http://[2001:DB8::1]:81/") == Target("http", "2001:db8::1", 81, "/")
    assert parse_target("http://bücher.example/").host == "xn--bcher-kva.example"
    assert parse_target("http://[::1]:8080/").authority == "[::1]:8080"
    assert parse_target("https://example.com:443/").authority == "example.com"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", IPv4Address("127.0.0.1")),
        ("2130706433", IPv4Address("127.0.0.1")),
        ("0x7f000001", IPv4Address("127.0.0.1")),
        ("0x7f.0.0.1", IPv4Address("127.0.0.1")),
        ("0177.0.0.1", IPv4Address("127.0.0.1")),
        ("017700000001", IPv4Address("127.0.0.1")),
        ("127.1", IPv4Address("127.0.0.1")),
        ("10.1.2", IPv4Address("10.1.0.2")),
        ("::1", IPv6Address("::1")),
        ("[::ffff:7f00:1]", IPv6Address("::ffff:127.0.0.1")),
        ("example.com", None),
        ("cafe.face", None),
        ("1.2.3.256", None),
        ("127.0.0.1x", None),
        ("08", None),
    ],
)
def test_literal_ip_reads_every_spelling_libc_accepts(host: str, expected: IPv4Address | IPv6Address | None) -> None:
    assert literal_ip(host) == expected


def test_embedded_ipv4_addresses_decide() -> None:
    check_address(IPv6Address("64:ff9b::808:808"), allow_private=False)  # NAT64 to 8.8.8.8
    with pytest.raises(UnsafeTarget, match=r"that is 10\.0\.0\.1"):
        check_address(IPv6Address("64:ff9b::a00:1"), allow_private=False)
    with pytest.raises(UnsafeTarget, match="metadata"):
        check_address(IPv6Address("::ffff:a9fe:a9fe"), allow_private=True)


async def test_literal_addresses_resolve_to_their_canonical_form() -> None:
    assert await resolve("http://127.0.0.1:8080/x", allow_private=True) == "127.0.0.1"
    assert await resolve("http://0x7f.1/", allow_private=True) == "127.0.0.1"
    assert await resolve("http://[::ffff:7f00:1]/", allow_private=True) == "127.0.0.1"
    assert await resolve("https://93.184.216.34/hook", allow_private=False) == "93.184.216.34"


async def test_localhost_is_refused_by_name_and_resolved_when_allowed() -> None:
    with pytest.raises(UnsafeTarget, match="local name"):
        await resolve("http://localhost:8000/", allow_private=False)
    assert IPv4Address(await resolve("http://localhost:8000/", allow_private=True)).is_loopback


def fake_dns(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> None:
    async def getaddrinfo(host: str, port: int, **kwargs: Any) -> list[tuple[Any, ...]]:
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)


async def test_every_address_of_a_name_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, "93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946")
    assert await resolve("https://hooks.example.com/x", allow_private=False) == "93.184.216.34"
    fake_dns(monkeypatch, "93.184.216.34", "10.0.0.1")
    with pytest.raises(UnsafeTarget, match="private"):
        await resolve("https://hooks.example.com/x", allow_private=False)
    fake_dns(monkeypatch, "10.0.0.1", "169.254.169.254")
    with pytest.raises(UnsafeTarget, match="metadata"):
        await resolve("https://hooks.example.com/x", allow_private=True)


async def test_names_that_do_not_resolve_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch)
    with pytest.raises(UnsafeTarget, match=r"host \(nowhere\.example\) could not be resolved"):
        await resolve("https://nowhere.example/", allow_private=False)


@settings(max_examples=300, deadline=None, database=None)
@given(st.from_regex(URL_PATTERN, fullmatch=True))
def test_every_url_the_schema_admits_is_well_formed_for_the_server(url: str) -> None:
    """The API's schema (`URL_PATTERN`) and parse_target agree: what the pattern admits can only be refused
    for where it points, never for its syntax (the contract test relies on it)."""
    try:
        check_url(url, allow_private=True)
    except MalformedTarget as malformed:
        raise AssertionError(f"{url!r} matches the schema's pattern but is malformed for the server: {malformed}") from None
    except UnsafeTarget:
        pass  # an always-refused address (0.0.0.0, metadata, multicast…): the target, not the syntax


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "http://user@example.com/",
        "http://exa mple.com/",
        "http://example.com:0/",
        "http://[::1%25eth0]/",
        "http:///x",
    ],
)
def test_urls_the_schema_refuses_are_malformed_for_the_server_too(url: str) -> None:
    assert re.search(URL_PATTERN, url) is None
    with pytest.raises(MalformedTarget):
        parse_target(url)
