"""Where outbound webhooks may go: public addresses only (SSRF protection).

A webhook URL is chosen by a tenant, and the server, not the tenant, makes the request, so an
unchecked URL would let a tenant reach whatever the server can: its own admin ports, the database,
the intranet, the cloud provider's metadata service (which hands out credentials). The policy:

* Syntax (`parse_target`): http or https only, a host, no `user:password@`, a port from 1 to 65535.
  Spaces, control characters, backslashes and percent signs in the authority are refused outright,
  so that no other URL parser can read a different host out of the same text.
* Every IP spelling libc accepts is recognised (`literal_ip`): `2130706433`, `0x7f.1`, `0177.0.0.1`,
  `127.1`, IPv6 and IPv4-mapped IPv6. IPv6 forms that carry an IPv4 address (mapped, compatible,
  NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the IPv4 address inside.
* Always refused, whatever the setting (`check_address`): cloud metadata services (169.254.169.254,
  fd00:ec2::254, ECS's 169.254.170.2, Alibaba's 100.100.100.200, Azure's 168.63.129.16), all of the
  IPv4 link-local range 169.254.0.0/16, multicast, unspecified (0.0.0.0, ::), reserved, broadcast.
* Refused unless `allow_private` (self-hosted installations posting to their own network): anything
  Python's `ipaddress` does not call global (loopback, RFC 1918, CGNAT, link-local IPv6, documentation
  and benchmarking ranges, Teredo, ...) plus the ranges some Python versions still call global
  (192.0.0.0/24, site-local fec0::/10, 3fff::/20, local-use NAT64 64:ff9b:1::/48).
* Names (`resolve_checked`): `localhost`, `*.localhost`, `*.local` and `*.internal` are refused unless
  `allow_private`, `metadata.google.internal` always. Other names are resolved and EVERY address in the
  answer is checked; the caller connects to the returned address, so DNS cannot change between the
  check and the connection (no rebinding).

`check_url` is the cheap synchronous check at registration; `resolve_checked` runs before each delivery.
`URL_PATTERN` is the syntax in the API's schema: every string it matches is one `parse_target` accepts
(tests/unit/test_ssrf.py draws them from the pattern), so a refusal of a well-formed URL is always about
where it points (`MalformedTarget` is the syntax's refusal, any other `UnsafeTarget` the target's).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from urllib.parse import urlsplit

IPAddress = IPv4Address | IPv6Address

DEFAULT_PORTS = {"http": 80, "https": 443}
# Cloud metadata and host-agent endpoints: refused even when private addresses are allowed.
METADATA_ADDRESSES = {
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "168.63.129.16", "fd00:ec2::254")
}
METADATA_NAMES = {"metadata.google.internal"}
LOCAL_NAME_SUFFIXES = (".localhost", ".local", ".internal")
# Non-public ranges that Python's `is_global` misses in some versions (3.11 calls these global).
NON_PUBLIC_NETWORKS: tuple[IPv4Network | IPv6Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "::1/128",
        "64:ff9b:1::/48",
        "2001::/32",
        "2001:db8::/32",
        "3fff::/20",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
    )
)
IPV4_COMPATIBLE = IPv6Network("::/96")
NAT64 = IPv6Network("64:ff9b::/96")
BROADCAST = IPv4Address("255.255.255.255")
# Characters of the legacy IPv4 spellings (decimal, octal, hex, dotted or not); inet_aton decides the rest.
LEGACY_IPV4 = re.compile(r"[0-9a-fx.]+", re.IGNORECASE)
NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\]")

# The syntax parse_target accepts, as one regex that reads the same in Python and ECMA (the OpenAPI
# schema's): http(s)://, an ASCII host name (international names in their xn-- form) or a bracketed
# IPv6 address (RFC 3986, no zone), an optional port 1-65535, then visible ASCII but the backslash.
_LABEL = "[A-Za-z0-9_-]+"
_H16 = "[0-9A-Fa-f]{1,4}"
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_LS32 = f"(?:{_H16}:{_H16}|{_OCTET}(?:\\.{_OCTET}){{3}})"
_IPV6 = "|".join(
    [
        f"(?:{_H16}:){{6}}{_LS32}",
        f"::(?:{_H16}:){{5}}{_LS32}",
        f"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
        f"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
        f"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
        f"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
        f"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
        f"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
        f"(?:(?:{_H16}:){{0,6}}{_H16})?::",
    ]
)
_PORT = "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
URL_PATTERN = f"^[Hh][Tt][Tt][Pp][Ss]?://(?:{_LABEL}(?:\\.{_LABEL})*\\.?|\\[(?:{_IPV6})\\])(?::{_PORT})?(?:[/?#][!-\\x5b\\x5d-~]*)?$"


class UnsafeTarget(ValueError):
    """A webhook URL that is malformed or points where webhooks may not go; the message says why."""


class MalformedTarget(UnsafeTarget):
    """A webhook URL that is not a plain http(s)://host[:port]/path?query (the others are refused for their target)."""


@dataclass(frozen=True, slots=True)
class Target:
    """A syntactically valid webhook URL, split up. `host` is lowercase ASCII, without IPv6 brackets."""

    scheme: str
    host: str
    port: int
    path_and_query: str

    @property
    def authority(self) -> str:
        """The `Host` header: brackets around IPv6, the port only when it is not the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"


def parse_target(url: str) -> Target:
    """Split a webhook URL, refusing anything but a plain http(s)://host[:port]/path?query."""
    if FORBIDDEN_CHARACTERS.search(url):
        raise MalformedTarget("webhook_url must not contain spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
    except ValueError as error:
        raise MalformedTarget(f"webhook_url is not a valid URL ({error})") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise MalformedTarget("webhook_url must start with http:// or https://")
    if "@" in parts.netloc:
        raise MalformedTarget("webhook_url must not contain a user name or password")
    if parts.netloc.startswith("["):
        host, bracket, port_text = parts.netloc[1:].partition("]")
        if not bracket or "%" in host or (port_text and not port_text.startswith(":")):
            raise MalformedTarget("webhook_url's host is not a valid IPv6 address")
        port_text = port_text[1:]
        try:
            host = str(IPv6Address(host))
        except ValueError:
            raise MalformedTarget("webhook_url's host is not a valid IPv6 address") from None
    else:
        host, _, port_text = parts.netloc.partition(":")
        host = _ascii_host(host)
    if port_text and not (port_text.isascii() and port_text.isdigit() and 1 <= int(port_text) <= 65535):
        raise MalformedTarget("webhook_url's port must be a number from 1 to 65535")
    port = int(port_text) if port_text else DEFAULT_PORTS[parts.scheme]
    path_and_query = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path_and_query)


def _ascii_host(host: str) -> str:
    if not host:
        raise MalformedTarget("webhook_url has no host")
    try:
        ascii_host = host.lower() if host.isascii() else host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        ascii_host = ""
    if not NAME.fullmatch(ascii_host):
        raise MalformedTarget(f"webhook_url's host ({host}) is not a valid host name")
    return ascii_host


def literal_ip(host: str) -> IPAddress | None:
    """The address a host written as an IP stands for, in any spelling libc accepts; None for a name."""
    if ":" in host:
        try:
            return IPv6Address(host.strip("[]"))
        except ValueError:
            return None
    # A trailing dot is allowed, as in browsers; refusing more spellings than libc is the safe side.
    candidate = host.removesuffix(".")
    if not LEGACY_IPV4.fullmatch(candidate):
        return None
    try:
        return IPv4Address(socket.inet_aton(candidate))
    except OSError:
        return None


def _embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 one carries and is routed to: mapped, compatible, NAT64 or 6to4."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in IPV4_COMPATIBLE and int(ip) > 1:  # ::a.b.c.d, but not :: or ::1
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in NAT64:
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def check_address(ip: IPAddress, *, allow_private: bool) -> None:
    """Raise UnsafeTarget unless a webhook may be sent to this address (see the module's policy)."""
    embedded = _embedded_ipv4(ip) if isinstance(ip, IPv6Address) else None
    subject: IPAddress = embedded or ip
    shown = f"{ip}, that is {embedded}" if embedded else str(ip)
    if subject in METADATA_ADDRESSES:
        kind = "a cloud metadata address"
    elif isinstance(subject, IPv4Address) and subject.is_link_local:
        kind = "a link-local address"
    elif subject.is_multicast:
        kind = "a multicast address"
    elif subject.is_unspecified:
        kind = "an unspecified address"
    elif subject == BROADCAST:
        kind = "a broadcast address"
    elif subject.is_reserved and not subject.is_loopback:
        kind = "a reserved address"
    elif allow_private:
        return
    elif subject.is_loopback:
        kind = "a loopback address"
    elif subject.is_link_local:
        kind = "a link-local address"
    elif subject.is_private:
        kind = "a private address"
    elif not subject.is_global or any(subject in network for network in NON_PUBLIC_NETWORKS):
        kind = "a non-public address"
    else:
        return
    raise UnsafeTarget(f"webhook_url points to {kind} ({shown}); webhooks go to public addresses only")


def _check_name(host: str, *, allow_private: bool) -> None:
    name = host.removesuffix(".")
    if name in METADATA_NAMES:
        raise UnsafeTarget(f"webhook_url's host ({host}) is a cloud metadata service; webhooks go to public addresses only")
    if not allow_private and (name == "localhost" or name.endswith(LOCAL_NAME_SUFFIXES)):
        raise UnsafeTarget(f"webhook_url's host ({host}) is a local name; webhooks go to public addresses only")


def _connectable(ip: IPAddress) -> str:
    """The address to connect to: an IPv4-mapped IPv6 address is its IPv4 address."""
    mapped = ip.ipv4_mapped if isinstance(ip, IPv6Address) else None
    return str(mapped or ip)


def check_url(url: str, *, allow_private: bool) -> Target:
    """The synchronous check at registration: syntax, local names, and the address when the host is an IP."""
    target = parse_target(url)
    ip = literal_ip(target.host)
    if ip is None:
        _check_name(target.host, allow_private=allow_private)
    else:
        check_address(ip, allow_private=allow_private)
    return target


async def resolve_checked(target: Target, *, allow_private: bool) -> str:
    """The address to connect to for `target`, after checking it and every other address the name has."""
    ip = literal_ip(target.host)
    if ip is not None:
        check_address(ip, allow_private=allow_private)
        return _connectable(ip)
    _check_name(target.host, allow_private=allow_private)
    try:
        answers = await asyncio.get_running_loop().getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        answers = []
    addresses = [ipaddress.ip_address(str(sockaddr[0])) for _, _, _, _, sockaddr in answers]
    if not addresses:
        raise UnsafeTarget(f"webhook_url's host ({target.host}) could not be resolved")
    for address in addresses:  # one unsafe address in a mixed answer refuses the lot
        check_address(address, allow_private=allow_private)
    return _connectable(addresses[0])
