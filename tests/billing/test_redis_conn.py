"""billing.redis_conn: the hot path's script call on a thread's own connection."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest
import redis as redis_py
from django.conf import settings

from billing import redis_conn
from tests.support.redis_wire import redis_round_trips


@pytest.fixture
def own_client(redis):  # type: ignore[no-untyped-def]
    """A client of the suite's Redis with a short socket timeout, and a trivial script."""
    client = redis_py.Redis.from_url(settings.REDIS_URL, socket_timeout=0.2, socket_connect_timeout=0.2)
    yield client, client.register_script("return {1, tonumber(ARGV[1])}")
    client.close()


def test_script_run_is_one_write_and_answers(own_client):
    client, script = own_client
    redis_conn.script_run(client, script, [], [1])  # connects (the handshake) and loads
    with redis_round_trips() as calls:
        assert redis_conn.script_run(client, script, [], [7]) == [1, 7]
    assert calls == ["EVALSHA"]


def test_the_timeouts_are_the_kernels_not_pythons(own_client):
    client, script = own_client
    redis_conn.script_run(client, script, [], [1])
    sock = redis_conn._own_connection(client)._sock
    # No Python timeout: a send or receive is one system call, not a poll() and then one.
    assert sock.gettimeout() is None
    for option in (socket.SO_RCVTIMEO, socket.SO_SNDTIMEO):
        assert struct.unpack("ll", sock.getsockopt(socket.SOL_SOCKET, option, 16)) == (0, 200_000)


def test_a_redis_that_stops_answering_fails_the_call_within_the_timeout(own_client):
    client, script = own_client
    redis_conn.script_run(client, script, [], [1])
    admin = redis_py.Redis.from_url(settings.REDIS_URL)
    admin.execute_command("CLIENT", "PAUSE", 1000, "ALL")  # the server stops answering
    try:
        started = time.monotonic()
        with pytest.raises((redis_py.exceptions.ConnectionError, redis_py.exceptions.TimeoutError)):
            redis_conn.script_run(client, script, [], [2])
        waited = time.monotonic() - started
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
    assert 0.15 < waited < 0.8
    # The connection was dropped, so the late reply to [2] is never read as this answer.
    assert redis_conn.script_run(client, script, [], [3]) == [1, 3]


def test_each_thread_has_its_own_connection(own_client):
    client, script = own_client
    seen: list[int] = []

    def work() -> None:
        redis_conn.script_run(client, script, [], [1])
        seen.append(id(redis_conn._own_connection(client)))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 3
