"""A fake DNS and a network guard, for tests that must prove no packet leaves the machine.

* ``fake_dns`` replaces ``socket.getaddrinfo``: names resolve only as a test says (IP
  literals to themselves), everything else is "not known", and each lookup is recorded. No
  real DNS query leaves the machine.
* ``network_guard`` refuses, and records, any connection to an address outside
  127.0.0.0/8 and ::1 before it is made; a test ends with an error when one was tried.

Registered for the whole suite (``tests/conftest.py``); the webhooks and jobs tests use
them for every test.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest


class FakeDns:
    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {"localhost": ["127.0.0.1"]}
        self.lookups: list[str] = []

    def add(self, host: str, *addresses: str) -> None:
        self.records[host] = list(addresses)

    def getaddrinfo(self, host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0) -> list[tuple[Any, ...]]:  # noqa: A002 - socket's names
        name = host.decode() if isinstance(host, bytes) else str(host)
        self.lookups.append(name)
        try:
            ipaddress.ip_address(name.split("%", 1)[0])
            addresses = [name]
        except ValueError:
            if name not in self.records:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (fake DNS)") from None
            addresses = self.records[name]
        numeric_port = int(port) if port not in (None, "") else 0
        out = []
        for address in addresses:
            family_of = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, numeric_port, 0, 0) if family_of == socket.AF_INET6 else (address, numeric_port)
            out.append((family_of, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
        return out


class NetworkGuard:
    def __init__(self) -> None:
        self.connects: list[tuple[str, int]] = []
        self.refused: list[tuple[str, int]] = []


def _is_loopback(host: str) -> bool:
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    dns = FakeDns()
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    return dns


@pytest.fixture
def network_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    guard = NetworkGuard()
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host, port = str(address[0]), int(address[1])
            guard.connects.append((host, port))
            if not _is_loopback(host):
                guard.refused.append((host, port))
                raise ConnectionRefusedError(f"test network guard: no connection to {host}:{port}")

    def connect(sock: socket.socket, address: Any) -> None:
        check(sock, address)
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        check(sock, address)
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield guard
    assert guard.refused == [], f"the code under test tried to connect outside 127.0.0.0/8: {guard.refused}"
