"""billing.redis_conn: the hot path's script call on a thread's own connection."""

from __future__ import annotations

import socket
import struct
import threading
import time
from contextlib import contextmanager

import pytest
import redis as redis_py
from django.conf import settings

from billing import redis_conn
from tests.support.redis_wire import redis_round_trips


def _self_signed(tmp_path):  # type: ignore[no-untyped-def]
    """A certificate and key for 127.0.0.1, valid for a day."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(tz=datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


@contextmanager
def _tls_connection(tmp_path, serve):  # type: ignore[no-untyped-def]
    """A TLS client socket (closed at the end) to a local server thread, which completes
    the handshake and hands its side of the connection to ``serve``."""
    import ssl

    cert, key = _self_signed(tmp_path)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))

    def accept() -> None:
        raw, _ = listener.accept()
        serve(server_context.wrap_socket(raw, server_side=True))

    server = threading.Thread(target=accept, daemon=True)
    server.start()
    client_context = ssl.create_default_context(cafile=str(cert))
    sock = client_context.wrap_socket(socket.create_connection(listener.getsockname()), server_hostname="127.0.0.1")
    try:
        yield sock, server
    finally:
        sock.close()
        listener.close()


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
    # The server stops answering writes (a script may write): reads of other clients of the
    # suite's Redis go on.
    admin.execute_command("CLIENT", "PAUSE", 1000, "WRITE")
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


def test_a_tls_connection_keeps_pythons_timeout(tmp_path):
    """Python's TLS read retries a read the kernel timed out, so a TLS socket (production's
    rediss://) must keep the Python timeout: a silent server fails the read in time."""
    from types import SimpleNamespace

    held: list[socket.socket] = []  # the server completes the handshake, then never says a word
    outcome: list[BaseException | bytes] = []
    with _tls_connection(tmp_path, held.append) as (sock, _):
        sock.settimeout(0.2)  # what redis-py sets after connecting

        def read() -> None:
            try:
                outcome.append(sock.recv(1))
            except OSError as e:  # socket.timeout (TimeoutError) is an OSError
                outcome.append(e)

        try:
            redis_conn._kernel_timeouts(SimpleNamespace(_sock=sock, socket_timeout=0.2))
            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            reader.join(2.0)  # without the Python timeout it waits for TCP to give up
            assert outcome and isinstance(outcome[0], TimeoutError), outcome
        finally:
            for s in held:
                s.close()


def test_a_connection_the_server_closed_is_replaced_after_an_idle_second(own_client, monkeypatch):
    client, script = own_client
    redis_conn.script_run(client, script, [], [1])
    conn = redis_conn._own_connection(client)
    conn.send_command("CLIENT", "ID")
    own_id = conn.read_response()
    admin = redis_py.Redis.from_url(settings.REDIS_URL)
    assert admin.client_kill_filter(_id=own_id) == 1  # an idle timeout, a restart, an operator
    monkeypatch.setattr(redis_conn, "_IDLE_CHECK_SECONDS", 0.0)  # instead of waiting a second
    assert redis_conn.script_run(client, script, [], [5]) == [1, 5]


@pytest.fixture
def through_sendall(monkeypatch):  # type: ignore[no-untyped-def]
    """What goes out through ``socket.sendall`` (which still sends it)."""
    sent: list[bytes] = []
    original = socket.socket.sendall

    def sendall(self, data, *args):  # type: ignore[no-untyped-def]
        sent.append(bytes(data))
        return original(self, data, *args)

    monkeypatch.setattr(socket.socket, "sendall", sendall)
    return sent


def test_the_script_goes_out_without_sendall_on_plain_tcp(own_client, through_sendall):
    # sendall gives the GIL away and queues to get it back: the command is written by
    # libc's send() with the GIL held instead (billing.redis_conn._write).
    client, script = own_client
    redis_conn.script_run(client, script, [], [1])
    through_sendall.clear()
    assert redis_conn.script_run(client, script, [], [4]) == [1, 4]
    assert through_sendall == []


@pytest.mark.parametrize("taken", [5, 0, -1], ids=["part", "nothing", "error"])
def test_what_send_did_not_take_goes_through_sendall(own_client, monkeypatch, through_sendall, taken):
    # A full socket buffer (part or nothing taken) or an error: sendall finishes the write.
    client, script = own_client
    redis_conn.script_run(client, script, [], [1])
    real = redis_conn._send_holding_gil
    assert real is not None

    def send(fd: int, data: bytes, size: int, flags: int) -> int:
        return real(fd, data, taken, flags) if taken > 0 else taken

    monkeypatch.setattr(redis_conn, "_send_holding_gil", send)
    through_sendall.clear()
    assert redis_conn.script_run(client, script, [], [6]) == [1, 6]
    command = b"".join(redis_conn._own_connection(client).pack_command(
        "EVALSHA", script.sha, 0, 6))
    assert through_sendall == [command[max(taken, 0):]]


def test_a_write_that_fails_raises_redis_error_and_drops_the_connection(own_client):
    client, script = own_client
    redis_conn.script_run(client, script, [], [1])
    conn = redis_conn._own_connection(client)
    conn._sock.shutdown(socket.SHUT_WR)  # the write side is gone: send() fails with EPIPE
    with pytest.raises(redis_py.exceptions.ConnectionError):
        redis_conn.script_run(client, script, [], [2])
    assert conn._sock is None
    assert redis_conn.script_run(client, script, [], [3]) == [1, 3]


def test_over_tls_the_command_goes_through_the_tls_socket(tmp_path):
    """A raw send() on a TLS socket's descriptor would put plaintext into the TLS stream
    (production's rediss://): over TLS the command goes through the socket's own sendall."""
    from types import SimpleNamespace

    received: list[bytes] = []

    def serve(tls) -> None:  # type: ignore[no-untyped-def] # reads what arrives, decrypted
        with tls:
            tls.settimeout(2.0)
            received.append(tls.recv(1024))

    with _tls_connection(tmp_path, serve) as (sock, server):
        redis_conn._write(SimpleNamespace(_sock=sock), b"*1\r\n$4\r\nPING\r\n")
        server.join(2.0)
    assert received == [b"*1\r\n$4\r\nPING\r\n"]
