"""callback_url_check and target_resolve: only https URLs to public addresses, checked by
what the host resolves to (stub resolvers: no DNS query leaves the machine, no socket is
opened by a check)."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from weatherapi.errors import InvalidParameter
from webhooks.targets import (
    UnsafeTarget,
    callback_url_check,
    is_public_address,
    target_resolve,
)

PUBLIC = "93.184.216.34"


class StubResolver:
    """getaddrinfo's shape; records every call."""

    def __init__(self, *addresses: str, error: Exception | None = None) -> None:
        self.addresses = addresses
        self.error = error
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.calls.append((host, port))
        if self.error is not None:
            raise self.error
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in self.addresses
        ]


def _refusal(url: str, resolver=None, **kwargs) -> list[str]:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidParameter) as caught:
        callback_url_check(url, resolver=resolver or StubResolver(PUBLIC), **kwargs)
    assert caught.value.status == 400 and caught.value.code == "invalid_parameter"
    return caught.value.errors["callback_url" if "field" not in kwargs else kwargs["field"]]


def test_a_public_https_url_is_accepted_and_resolved_once():
    resolver = StubResolver(PUBLIC, "2606:2800:220:1:248:1893:25c8:1946")
    assert callback_url_check("https://hooks.example.com/cb?job=1", resolver=resolver) == "https://hooks.example.com/cb?job=1"
    assert resolver.calls == [("hooks.example.com", 443)]
    target = target_resolve("https://Hooks.Example.com:443/cb?job=1", resolver=resolver)
    assert (target.host, target.port, target.request_target) == ("hooks.example.com", 443, "/cb?job=1")
    assert target.host_header == "hooks.example.com"
    assert target.addresses == (PUBLIC, "2606:2800:220:1:248:1893:25c8:1946")


@pytest.mark.parametrize("url", [
    "http://hooks.example.com/cb",          # not https
    "ftp://hooks.example.com/cb",
    "https://127.0.0.1/cb",                 # loopback, without WEBHOOK_ALLOW_PRIVATE_TARGETS
    "http://127.0.0.1:8080/cb",
    "https://10.0.0.1/cb",                  # private
    "https://192.168.1.10/cb",
    "https://172.16.0.1/cb",
    "https://169.254.169.254/latest/meta-data/",  # link-local: the metadata service
    "https://[::1]/cb",                     # loopback
    "https://[fd00:ec2::254]/cb",           # AWS's IPv6 metadata address (unique local)
    "https://[fc00::1]/cb",                 # other unique local
    "https://[fe80::1]/cb",                 # link-local
    "https://[::ffff:169.254.169.254]/cb",  # IPv4-mapped
    "https://[::ffff:10.0.0.1]/cb",
    "https://[64:ff9b::a9fe:a9fe]/cb",      # NAT64 of 169.254.169.254
    "https://[2002:a9fe:a9fe::1]/cb",       # 6to4 of 169.254.169.254
    "https://100.64.0.1/cb",                # CGNAT (shared address space)
    "https://224.0.0.1/cb",                 # multicast
    "https://[ff02::1]/cb",
    "https://0.0.0.0/cb",                   # unspecified
    "https://[::]/cb",
    "https://240.0.0.1/cb",                 # reserved
    "https://255.255.255.255/cb",
    "https://198.18.0.1/cb",                # benchmarking
    "https://user:pw@hooks.example.com/cb",  # userinfo
    "https://user@hooks.example.com/cb",
    "https:///cb",                          # no host
    "https://hooks.example.com:0/cb",
    "https://hooks.example.com:8443/cb",    # not 443: our egress is 443 only
    "https://hooks.example.com:99999/cb",
    "https://hooks.example.com/a b",        # whitespace
    "https://hooks.example.com/\u00e9t\u00e9",  # non-ASCII path
    "",
    "hooks.example.com/cb",
])
def test_refused_urls(url):
    resolver = StubResolver(PUBLIC)
    messages = _refusal(url, resolver)
    assert messages and all(isinstance(m, str) for m in messages)


def test_ip_literals_and_malformed_urls_need_no_lookup():
    resolver = StubResolver(PUBLIC)
    for url in ("https://169.254.169.254/", "https://[fd00:ec2::254]/", "http://hooks.example.com/", "https://u:p@x.example/"):
        _refusal(url, resolver)
    assert resolver.calls == []


def test_a_name_resolving_to_the_metadata_address_is_refused_without_connecting(network_guard):
    resolver = StubResolver("169.254.169.254")
    messages = _refusal("https://metadata.attacker.example/latest", resolver)
    assert resolver.calls == [("metadata.attacker.example", 443)]
    assert "169.254.169.254" in messages[0]
    assert network_guard.connects == []  # a check never opens a socket


def test_one_private_address_among_public_ones_is_enough_to_refuse():
    messages = _refusal("https://mixed.example/cb", StubResolver(PUBLIC, "10.1.2.3"))
    assert "10.1.2.3" in messages[0]


@pytest.mark.parametrize("error", [socket.gaierror(socket.EAI_NONAME, "unknown"), OSError("resolver down"),
                                   UnicodeError("bad label")])
def test_a_host_that_does_not_resolve_is_refused(error):
    assert _refusal("https://nowhere.example/cb", StubResolver(error=error)) == ["The host does not resolve."]
    assert _refusal("https://empty.example/cb", StubResolver()) == ["The host does not resolve."]


def test_too_long_urls_are_refused():
    url = "https://hooks.example.com/" + "a" * 2030
    assert len(url) > 2048
    assert _refusal(url) == ["Must be at most 2048 characters."]
    ok = "https://hooks.example.com/" + "a" * (2048 - len("https://hooks.example.com/"))
    assert callback_url_check(ok, resolver=StubResolver(PUBLIC)) == ok


def test_the_field_is_named_as_asked():
    assert _refusal("http://hooks.example.com/", field="url")
    with pytest.raises(InvalidParameter) as caught:
        callback_url_check("http://hooks.example.com/", resolver=StubResolver(PUBLIC))
    assert set(caught.value.errors) == {"callback_url"}
    assert caught.value.detail.startswith("callback_url: ")


def test_the_default_resolver_is_getaddrinfo(fake_dns):
    fake_dns.add("hooks.example.com", PUBLIC)
    fake_dns.add("rebind.example.com", "127.0.0.1")
    assert callback_url_check("https://hooks.example.com/cb") == "https://hooks.example.com/cb"
    with pytest.raises(InvalidParameter):
        callback_url_check("https://rebind.example.com/cb")
    assert fake_dns.lookups == ["hooks.example.com", "rebind.example.com"]


def test_idna_hosts_are_looked_up_encoded():
    resolver = StubResolver(PUBLIC)
    target = target_resolve("https://b\u00fccher.example/cb", resolver=resolver)
    assert resolver.calls == [("xn--bcher-kva.example", 443)] and target.host == "xn--bcher-kva.example"


# --- WEBHOOK_ALLOW_PRIVATE_TARGETS -------------------------------------------------------------


def test_private_targets_setting_allows_loopback_http_only(private_targets):
    assert callback_url_check("http://127.0.0.1:8080/cb", resolver=StubResolver()) == "http://127.0.0.1:8080/cb"
    assert callback_url_check("http://localhost:8080/cb", resolver=StubResolver("127.0.0.1"))
    assert callback_url_check("http://[::1]:8080/cb", resolver=StubResolver())
    target = target_resolve("http://127.0.0.1:8080/cb", resolver=StubResolver())
    assert (target.scheme, target.addresses, target.host_header) == ("http", ("127.0.0.1",), "127.0.0.1:8080")
    # Nothing else private, and no plain http to anything else.
    for url in ("http://10.0.0.1/cb", "https://10.0.0.1/cb", "https://169.254.169.254/", "http://hooks.example.com/cb",
                "https://[fd00:ec2::254]/"):
        _refusal(url, StubResolver(PUBLIC))
    # localhost must really be loopback.
    _refusal("http://localhost:8080/cb", StubResolver("10.0.0.7"))


def test_unsafe_target_says_whether_a_later_attempt_could_differ():
    with pytest.raises(UnsafeTarget) as by_dns:
        target_resolve("https://rebind.example/cb", resolver=StubResolver("10.0.0.5"))
    assert by_dns.value.retryable
    with pytest.raises(UnsafeTarget) as literal:
        target_resolve("https://10.0.0.5/cb", resolver=StubResolver())
    assert not literal.value.retryable


@pytest.mark.parametrize(("address", "public"), [
    ("8.8.8.8", True), ("2001:4860:4860::8888", True), ("::ffff:8.8.8.8", True),
    ("10.0.0.1", False), ("100.64.0.1", False), ("169.254.169.254", False), ("127.0.0.1", False),
    ("::ffff:127.0.0.1", False), ("fd00:ec2::254", False), ("64:ff9b::808:808", True), ("64:ff9b::a00:1", False),
    ("2002:808:808::1", True), ("2002:a00:1::1", False), ("224.0.0.251", False), ("ff0e::1", False),
])
def test_is_public_address(address, public):
    assert is_public_address(ipaddress.ip_address(address)) is public
