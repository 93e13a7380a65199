"""Counting what the app sends to Redis, at the wire.

Every write of packed commands to a Redis connection is one round trip: a command alone,
a pipeline (all its commands in one write) or a script call: all go through redis-py's
``send_packed_command``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def command_names(packed: Any) -> list[str]:
    """The command names in a packed RESP write (one, or several for a pipeline)."""
    chunks = [packed] if isinstance(packed, (bytes, str)) else list(packed)
    data = b"".join(c.encode() if isinstance(c, str) else bytes(c) for c in chunks)
    names: list[str] = []
    i = 0
    while i < len(data) and data[i : i + 1] == b"*":
        end = data.index(b"\r\n", i)
        count, i = int(data[i + 1 : end]), end + 2
        for position in range(count):
            end = data.index(b"\r\n", i)
            length, i = int(data[i + 1 : end]), end + 2
            if position == 0:
                names.append(data[i : i + length].decode().upper())
            i += length + 2
    return names


@contextmanager
def redis_round_trips() -> Iterator[list[str]]:
    """Collects one entry per round trip: the command's name, or ``PIPELINE[A,B]``."""
    from redis.connection import AbstractConnection

    calls: list[str] = []
    original = AbstractConnection.send_packed_command

    def send_packed_command(self: Any, command: Any, check_health: bool = True) -> Any:
        names = command_names(command)
        calls.append(names[0] if len(names) == 1 else "PIPELINE[" + ",".join(names) + "]")
        return original(self, command, check_health=check_health)

    AbstractConnection.send_packed_command = send_packed_command  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        AbstractConnection.send_packed_command = original  # type: ignore[method-assign]
