"""weatherapi.gunicorn_worker through a real gunicorn: a pool thread stays on a busy
keep-alive connection, and never keeps one that is idle or that another connection is
waiting behind. One pool thread per worker, so any thread kept too long shows as a
connection not answered."""

from __future__ import annotations

import io
import queue
import socket
import threading
import time

import pytest

from tests.support.servers import GunicornServer

pytestmark = pytest.mark.slow

WORKER = "weatherapi.gunicorn_worker.KeepAliveThreadWorker"
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture(scope="module")
def one_thread():
    # /healthz needs neither Redis nor the database; one worker, one pool thread.
    with GunicornServer({"REDIS_URL": "", "GUNICORN_KEEPALIVE": "5"}, workers=1, threads=1,
                        worker_class=WORKER) as server:
        yield server


def _connect(server: GunicornServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=3)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _answers(sock: socket.socket, n: int) -> list[int]:
    """The statuses of the next ``n`` answers on the connection, each read whole."""
    buf, statuses = b"", []
    while len(statuses) < n:
        head_end = buf.find(b"\r\n\r\n")
        if head_end < 0:
            buf += _recv(sock)
            continue
        head = buf[:head_end].decode("latin-1").split("\r\n")
        length = int(next(line.split(":", 1)[1] for line in head if line.lower().startswith("content-length:")))
        while len(buf) < head_end + 4 + length:
            buf += _recv(sock)
        statuses.append(int(head[0].split()[1]))
        buf = buf[head_end + 4 + length :]
    return statuses


def _recv(sock: socket.socket) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError("closed by the server")
    return chunk


def test_a_connection_is_served_request_after_request_and_pipelined(one_thread):
    with _connect(one_thread) as sock:
        for _ in range(20):
            sock.sendall(REQUEST)
            assert _answers(sock, 1) == [200]
        sock.sendall(REQUEST * 3)  # three at once: read ahead, no poll would see them
        assert _answers(sock, 3) == [200, 200, 200]


def test_an_idle_keep_alive_connection_does_not_keep_the_thread(one_thread):
    with _connect(one_thread) as idle:
        idle.sendall(REQUEST)
        assert _answers(idle, 1) == [200]
        # idle stays open (keep-alive: 5 s) and sends nothing more. The next connection
        # comes after the answer, when nobody is queued for the thread yet.
        time.sleep(0.1)
        with _connect(one_thread) as other:
            started = time.monotonic()
            other.sendall(REQUEST)
            assert _answers(other, 1) == [200]
            assert time.monotonic() - started < 1.0


def test_a_busy_connection_gives_the_thread_up_to_one_waiting(one_thread):
    stop = threading.Event()
    served = []

    def hammer() -> None:
        with _connect(one_thread) as busy:
            while not stop.is_set():
                busy.sendall(REQUEST)
                served.extend(_answers(busy, 1))

    def until(condition, seconds: float = 5.0) -> bool:
        deadline = time.monotonic() + seconds
        while not condition() and time.monotonic() < deadline and thread.is_alive():
            time.sleep(0.01)
        return condition()

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        assert until(lambda: len(served) >= 50)  # the busy connection has the thread, request after request
        with _connect(one_thread) as waiting:
            started = time.monotonic()
            waiting.sendall(REQUEST)
            assert _answers(waiting, 1) == [200]
            assert time.monotonic() - started < 1.0
        after = len(served)
        assert until(lambda: len(served) > after + 10)  # and the busy one is served again after it
    finally:
        stop.set()
        thread.join(5)


# --- the loop itself, without a server: which request does the pool thread serve? --------------

class _Conn:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.parser = type("Parser", (), {"unreader": type("Unreader", (), {"buf": io.BytesIO()})()})()


@pytest.fixture
def loop(monkeypatch):
    """A KeepAliveThreadWorker whose gthread ``handle`` only counts the requests it serves."""
    from gunicorn.workers.gthread import ThreadWorker

    from weatherapi.gunicorn_worker import KeepAliveThreadWorker

    served: list[bytes] = []

    def serve_one(self, conn):
        served.append(conn.sock.recv(len(REQUEST)))
        return True  # keep-alive

    monkeypatch.setattr(ThreadWorker, "handle", serve_one)
    worker = object.__new__(KeepAliveThreadWorker)
    worker.alive = True
    worker.tpool = type("Pool", (), {"_work_queue": queue.SimpleQueue()})()
    client, server = socket.socketpair()
    yield worker, client, _Conn(server), served
    client.close()
    server.close()


def test_the_pool_thread_serves_requests_that_arrive_while_it_waits(loop, monkeypatch):
    from weatherapi import gunicorn_worker

    monkeypatch.setattr(gunicorn_worker, "KEEPALIVE_LINGER_SECONDS", 1.0)  # room for a slow CI host
    worker, client, conn, served = loop
    client.sendall(REQUEST * 2)  # one waiting already
    threading.Timer(0.1, client.sendall, [REQUEST]).start()  # one within the linger
    started = time.monotonic()
    assert worker.handle(conn) is True  # back to the poller only once nothing more came
    assert len(served) == 3
    assert time.monotonic() - started >= 1.0  # after waiting out one linger


def test_the_pool_thread_returns_the_connection_when_others_wait(loop):
    worker, client, conn, served = loop
    worker.tpool._work_queue.put("another connection")
    client.sendall(REQUEST * 2)
    assert worker.handle(conn) is True
    assert len(served) == 1  # the second request is the poller's to hand out


def test_the_pool_thread_stops_when_the_worker_does(loop):
    worker, client, conn, served = loop
    worker.alive = False
    client.sendall(REQUEST * 2)
    assert worker.handle(conn) is True
    assert len(served) == 1
