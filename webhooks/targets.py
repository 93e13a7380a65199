"""Which URLs we send callbacks and webhooks to (server-side request forgery).

A receiver's URL is the caller's choice, and our worker makes the request from inside our
network, so a URL must never lead it to anything but the public Internet: not the cloud's
metadata service (169.254.169.254, fd00:ec2::254), not the cluster's private addresses,
not loopback. A URL must be ``https``; its host must resolve, and to public addresses
only (every address it resolves to, IPv4-mapped, NAT64, 6to4 and Teredo IPv6 addresses
judged by the IPv4 address they carry). The check runs when a URL is submitted and again
before every attempt, and the attempt connects to an address this second check vetted (not
to a fresh lookup of the name), so a name that later resolves elsewhere (DNS rebinding)
cannot slip through.

``WEBHOOK_ALLOW_PRIVATE_TARGETS`` (development and tests; ``check --deploy`` refuses it)
also allows loopback receivers: ``http://127.0.0.1:<port>``, ``http://localhost``,
``http://[::1]``. Nothing else private, ever.

``resolver`` is ``socket.getaddrinfo`` or a stand-in with its signature (tests pass stubs,
so no test depends on, or sends, a real DNS query).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from weatherapi.errors import InvalidParameter

MAX_URL_LENGTH = 2048
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

Resolver = Callable[..., Sequence[tuple[Any, ...]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeTarget(Exception):
    """A URL we will not send to. ``retryable``: the refusal depends on DNS, which may
    answer differently later (at delivery, such an attempt is retried on schedule)."""

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        self.reason = reason
        self.retryable = retryable
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class Target:
    """A vetted URL: where to connect (``addresses``, all public, or loopback when allowed)
    and what to ask for."""

    url: str
    scheme: str
    host: str  # the URL's host, lowercase, IDNA-encoded; no brackets around IPv6
    port: int
    request_target: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries to its destination, if it does."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def is_public_address(ip: IPAddress) -> bool:
    """Globally routable unicast: not private, loopback, link-local (the metadata service),
    multicast, reserved, unspecified, shared (CGNAT 100.64/10) nor unique-local (fc00::/7)."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            # ::ffff:0:0/96 and 64:ff9b::/96 are "reserved" to Python's ipaddress (inside
            # ::/8): their destination is the IPv4 address they carry, judged alone.
            if ip.ipv4_mapped is not None or ip in _NAT64:
                return is_public_address(inner)
            if not is_public_address(inner):
                return False
    return ip.is_global and not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


def is_loopback_address(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _parse_address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def target_resolve(url: str, *, resolver: Resolver | None = None) -> Target:
    """The vetted target of ``url``, or ``UnsafeTarget`` saying why not."""
    allow_loopback = bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False))
    if not isinstance(url, str) or not url:
        raise UnsafeTarget("Give a URL.")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"Must be at most {MAX_URL_LENGTH} characters.")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise UnsafeTarget("Must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise UnsafeTarget("Is not a valid URL (its host or port).") from e
    scheme = parts.scheme.lower()
    hostname = (parts.hostname or "").rstrip(".") if parts.hostname else ""
    if scheme == "http" and allow_loopback:
        if hostname not in LOOPBACK_HOSTS:
            raise UnsafeTarget("Must be an https:// URL (http:// only for 127.0.0.1 or localhost here).")
    elif scheme != "https":
        raise UnsafeTarget("Must be an https:// URL.")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise UnsafeTarget("Must not contain a user name or password.")
    if not hostname:
        raise UnsafeTarget("Must have a host.")
    if port == 0:
        raise UnsafeTarget("Is not a valid URL (its host or port).")
    port = port or (443 if scheme == "https" else 80)
    path = parts.path or "/"
    request_target = f"{path}?{parts.query}" if parts.query else path
    if not request_target.isascii():
        raise UnsafeTarget("Percent-encode characters outside ASCII in the path and query.")

    literal = _parse_address(hostname)
    if literal is not None:
        host = hostname.split("%", 1)[0]
        addresses: list[IPAddress] = [literal]
    else:
        try:
            host = hostname.encode("idna").decode("ascii")
        except UnicodeError as e:
            raise UnsafeTarget("Has an invalid host name.") from e
        addresses = _resolve(host, port, resolver or socket.getaddrinfo)

    for ip in addresses:
        if allow_loopback and is_loopback_address(ip):
            continue
        if scheme == "http" or not is_public_address(ip):
            raise UnsafeTarget(
                f"The host resolves to a non-public address ({ip}): private, loopback, link-local, "
                "metadata and reserved addresses are refused.",
                retryable=literal is None,
            )
    if port != 443 and not (allow_loopback and all(is_loopback_address(ip) for ip in addresses)):
        # Our egress to the internet is TCP 443 only (NetworkPolicy): another port could
        # never be reached, so it is refused when submitted rather than retried for a day.
        raise UnsafeTarget("Must use port 443, the https default.")
    return Target(
        url=url, scheme=scheme, host=host, port=port, request_target=request_target,
        addresses=tuple(dict.fromkeys(str(ip) for ip in addresses)),
    )


def _resolve(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    try:
        infos = resolver(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as e:
        raise UnsafeTarget("The host does not resolve.", retryable=True) from e
    addresses: list[IPAddress] = []
    for info in infos or ():
        sockaddr = info[4] if len(info) > 4 else ()
        ip = _parse_address(str(sockaddr[0])) if sockaddr else None
        if ip is None:
            raise UnsafeTarget("The host does not resolve to an IP address.", retryable=True)
        addresses.append(ip)
    if not addresses:
        raise UnsafeTarget("The host does not resolve.", retryable=True)
    return addresses


def callback_url_check(url: str, *, resolver: Resolver | None = None, field: str = "callback_url") -> str:
    """``url`` if we may send to it now, else ``InvalidParameter`` naming ``field``.

    For the jobs API (``callback_url``) and webhook endpoints (``field="url"``): run it when
    the URL is submitted. Delivery checks again before every attempt."""
    try:
        target_resolve(url, resolver=resolver)
    except UnsafeTarget as e:
        raise InvalidParameter(f"{field}: {e.reason}", errors={field: [e.reason]}) from e
    return url
