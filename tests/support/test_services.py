"""tests/support/services.py and its pytest plugin: real private servers, started and gone.

``make test`` without REDIS_URL / DATABASE_URL starts a private redis-server and a
throwaway PostgreSQL cluster (tests/support/services_plugin.py). These tests start real
ones and check that they serve, that the cluster lets ``postgres`` create databases (as
pytest-django does), and that afterwards no process of theirs is left and their directory
is gone: after a normal run, and after a run interrupted by Ctrl-C (SIGINT) or SIGTERM.
They skip only when a binary is missing.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import redis

from tests.support import services
from tests.support.services import PrivateServices, postgres_bindir, redis_server_binary

ROOT = Path(__file__).resolve().parents[2]

needs_redis = pytest.mark.skipif(redis_server_binary() is None, reason="redis-server not installed")
needs_postgres = pytest.mark.skipif(postgres_bindir() is None,
                                    reason="PostgreSQL server binaries not installed (/usr/lib/postgresql/*/bin)")


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in args:
            found.append(f"{cmdline.parent.name}: {args}")
    return found


def _pid_gone(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return fields[0] == "Z"  # exited, not yet reaped by its parent (init, for the postmaster)


def _port_closed(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) != 0


def _wait_until(condition, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _assert_all_gone(workdir: str, pids: list[int], ports: list[int]) -> None:
    assert _wait_until(lambda: all(_pid_gone(pid) for pid in pids)), [p for p in pids if not _pid_gone(p)]
    assert _wait_until(lambda: not _processes_mentioning(workdir)), _processes_mentioning(workdir)
    assert all(_port_closed(port) for port in ports)
    assert not Path(workdir).exists()


@needs_redis
@needs_postgres
def test_private_redis_and_postgres_start_serve_and_are_gone_after_stop():
    environ: dict[str, str] = {}
    private = PrivateServices(environ).start()
    try:
        assert set(environ) == {"REDIS_URL", "DATABASE_URL"}
        assert private.missing == {}
        assert private.redis is not None and private.postgres is not None and private.workdir is not None
        workdir = str(private.workdir)
        redis_url, database_url = urlsplit(environ["REDIS_URL"]), urlsplit(environ["DATABASE_URL"])
        assert redis_url.hostname == database_url.hostname == "127.0.0.1"
        assert redis_url.port not in (None, 6379) and database_url.port not in (None, 5432)
        assert database_url.path == "/weatherapi" and database_url.username == "postgres"

        client = redis.Redis.from_url(environ["REDIS_URL"])
        assert client.ping()
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
        assert client.config_get("dir")["dir"].startswith(workdir)
        client.close()

        with psycopg.connect(environ["DATABASE_URL"], autocommit=True) as conn:
            assert conn.execute("SELECT current_user, current_database()").fetchone() == ("postgres", "weatherapi")
            conn.execute("CREATE DATABASE test_weatherapi_probe")  # what pytest-django does
            conn.execute("DROP DATABASE test_weatherapi_probe")
            data_directory = conn.execute("SHOW data_directory").fetchone()[0]
        assert data_directory.startswith(workdir)

        assert private.redis.proc is not None
        pids = [private.redis.proc.pid, private.postgres.postmaster_pid()]
        assert all(pids) and not any(_pid_gone(pid) for pid in pids)
        ports = [redis_url.port, database_url.port]
    finally:
        private.stop()

    assert environ == {}
    assert private.workdir is None
    _assert_all_gone(workdir, pids, ports)
    private.stop()  # idempotent


def test_variables_that_are_set_are_used_and_nothing_is_started(monkeypatch):
    def must_not_start(*args, **kwargs):
        raise AssertionError("started a server although the variable was set")

    monkeypatch.setattr(services.PrivateRedis, "start", must_not_start)
    monkeypatch.setattr(services.ThrowawayPostgres, "init", must_not_start)
    environ = {"REDIS_URL": "redis://127.0.0.1:6379/0", "DATABASE_URL": ""}
    with PrivateServices(environ) as private:
        assert private.workdir is None and private.missing == {}
        assert environ == {"REDIS_URL": "redis://127.0.0.1:6379/0", "DATABASE_URL": ""}
    assert environ == {"REDIS_URL": "redis://127.0.0.1:6379/0", "DATABASE_URL": ""}


def test_a_missing_binary_leaves_its_variable_unset_and_says_why(monkeypatch):
    monkeypatch.setattr(services, "redis_server_binary", lambda: None)
    monkeypatch.setattr(services, "postgres_bindir", lambda override=None: None)
    environ: dict[str, str] = {}
    with PrivateServices(environ) as private:
        assert environ == {}
        assert private.missing["redis"] == "redis-server not installed"
        assert "PostgreSQL server binaries not installed" in private.missing["postgres"]
        assert private.workdir is None


# ----------------------------------------------------------------------------- the plugin, end to end

INNER_TEST = '''
import json, os, time
from pathlib import Path

from django.conf import settings


def probe(database=None, port=None):
    from tests.support import services_plugin

    private = services_plugin._services
    Path(os.environ["PROBE_OUT"]).write_text(json.dumps({
        "redis_url": settings.REDIS_URL,
        "environ": [os.environ.get("REDIS_URL"), os.environ.get("DATABASE_URL")],
        "database": database, "port": port, "settings_port": settings.DATABASES["default"]["PORT"],
        "workdir": str(private.workdir),
        "pids": [private.redis.proc.pid, private.postgres.postmaster_pid()],
    }))


def test_with_the_database(db):  # pytest-django's test database: CREATE DATABASE, migrations
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database(), inet_server_port()")
        probe(*cursor.fetchone())


def test_hanging():
    probe()
    time.sleep(120)
'''


def _run_inner(tmp_path: Path, hang_then: signal.Signals | None = None) -> tuple[dict, subprocess.CompletedProcess]:
    test_file = tmp_path / "test_inner_probe.py"
    test_file.write_text(INNER_TEST)
    out = tmp_path / "probe.json"
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "DATABASE_URL", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST")}
    env["PROBE_OUT"] = str(out)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT),
         str(test_file), "-k", "hanging" if hang_then else "database"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        if hang_then is not None:
            assert _wait_until(lambda: out.exists() and out.stat().st_size > 0 or proc.poll() is not None, 120)
            time.sleep(0.3)
            proc.send_signal(hang_then)
        stdout, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert out.exists(), stdout
    return json.loads(out.read_text()), subprocess.CompletedProcess(proc.args, proc.returncode, stdout)


@needs_redis
@needs_postgres
@pytest.mark.slow
@pytest.mark.parametrize("ending", [None, signal.SIGINT, signal.SIGTERM], ids=["normal", "ctrl-c", "sigterm"])
def test_pytest_without_urls_runs_on_private_servers_and_leaves_nothing(tmp_path, ending):
    probe, result = _run_inner(tmp_path, ending)
    if ending is None:
        assert result.returncode == 0, result.stdout
    else:
        assert result.returncode == pytest.ExitCode.INTERRUPTED, result.stdout
    redis_port, pg_port = urlsplit(probe["redis_url"]).port, int(probe["settings_port"])
    # Django's settings and os.environ (what gunicorn started by a test inherits) agree.
    assert probe["environ"][0] == probe["redis_url"]
    assert urlsplit(probe["environ"][1]).port == pg_port
    assert redis_port != 6379 and pg_port != 5432
    if ending is None:  # pytest-django made its test database in the private cluster
        assert probe["port"] == pg_port and probe["database"].startswith("test_weatherapi_")
    _assert_all_gone(probe["workdir"], probe["pids"], [redis_port, pg_port])


MISSING_TEST = '''
import os

import pytest
from django.conf import settings


def test_needing_redis():
    assert "REDIS_URL" not in os.environ and not settings.REDIS_URL
    pytest.skip("needs Redis (REDIS_URL)")  # as tests/conftest.py's ``redis`` fixture does
'''


def test_a_missing_redis_server_leaves_redis_url_unset_and_the_skip_says_why(tmp_path):
    """No redis-server on PATH: nothing started, the test needing Redis skips and ``-rs``
    names the missing binary. ``DATABASE_URL=`` (empty): no PostgreSQL either (SQLite)."""
    (tmp_path / "bin").mkdir()
    test_file = tmp_path / "test_missing_probe.py"
    test_file.write_text(MISSING_TEST)
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST")}
    env.update(PATH=str(tmp_path / "bin"), DATABASE_URL="")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT), str(test_file)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "needs Redis (REDIS_URL) [redis-server not installed]" in result.stdout, result.stdout
    assert "Redis: none, redis-server not installed (REDIS_URL unset)" in result.stdout
    assert "PostgreSQL: none, SQLite (DATABASE_URL is empty)" in result.stdout
    assert "1 skipped" in result.stdout
