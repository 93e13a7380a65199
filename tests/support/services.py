"""Private, throwaway Redis and PostgreSQL servers: the test suite's and the failure drills'.

``PrivateRedis`` is a ``redis-server`` on a free 127.0.0.1 port with no persistence
configured (``--save "" --appendonly no``); ``ThrowawayPostgres`` is a cluster made with
``initdb`` in a directory of the caller's, started with ``pg_ctl`` on a free port, trust
authentication, superuser ``postgres`` and its unix socket in that directory. Neither ever
touches the machine's shared servers on 6379 / 5432. scripts/drills.py drives both
directly (it stops and restarts them as faults).

``PrivateServices`` is what ``make test`` uses (through tests/support/services_plugin.py):
for each of ``REDIS_URL`` and ``DATABASE_URL`` that the caller has not set, it starts a
private server in one temporary directory and sets the variable; ``stop()`` stops both,
deletes the directory and takes the variables back out. A server whose binary is missing
is not started: its variable stays unset (the tests needing it skip) and ``missing`` says
why.

Binaries: ``redis-server`` on ``PATH``; PostgreSQL's server binaries in the newest
``/usr/lib/postgresql/<version>/bin`` (Debian), else next to ``pg_ctl`` on ``PATH``. As
root, ``initdb`` and ``postgres`` refuse to run, so the cluster belongs to the ``postgres``
user (``nobody`` when there is none) and its commands run through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import MutableMapping
from contextlib import suppress
from pathlib import Path
from typing import Any

import redis

from tests.support.servers import free_port

PG_SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")


# ----------------------------------------------------------------------------- binaries


def redis_server_binary() -> str | None:
    """The ``redis-server`` to run, or None when it is not installed."""
    return shutil.which("redis-server")


def _pg_version(bindir: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in Path(bindir).parent.name.split("."))
    except ValueError:
        return ()


def postgres_bindir(override: str | os.PathLike[str] | None = None) -> Path | None:
    """The directory of PostgreSQL's server binaries (initdb, pg_ctl, postgres), or None.

    ``override`` wins when given. Debian keeps them in /usr/lib/postgresql/<version>/bin
    (the newest is taken); elsewhere they are usually on ``PATH``.
    """
    if override:
        return Path(override)
    found = [d for d in glob.glob("/usr/lib/postgresql/*/bin")
             if _pg_version(d) and all(os.access(Path(d, b), os.X_OK) for b in PG_SERVER_BINARIES)]
    if found:
        return Path(max(found, key=_pg_version))
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        bindir = Path(pg_ctl).resolve().parent
        if all(os.access(bindir / b, os.X_OK) for b in PG_SERVER_BINARIES):
            return bindir
    return None


def _unprivileged_user() -> str:
    for name in ("postgres", "nobody"):
        with suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and there is neither a postgres nor a nobody user to run PostgreSQL as")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# ----------------------------------------------------------------------------- servers


class PrivateRedis:
    """redis-server on a free port, no persistence configured (``--save "" --appendonly no``);
    ``durable``: every write in the append-only file before it is acknowledged
    (``--appendonly yes --appendfsync always``), as the metering store is."""

    def __init__(self, workdir: Path, *, binary: str | None = None, durable: bool = False,
                 cluster: bool = False) -> None:
        self.binary = binary or redis_server_binary() or "redis-server"
        self.durable = durable
        # ``cluster``: a one-node Redis Cluster holding every slot, as a one-shard MemoryDB
        # cluster is: it refuses a command or script whose keys span slots (CROSSSLOT).
        self.cluster = cluster
        # The bus port named: the default (port + 10,000) overflows for a free port above 55,535.
        self.bus_port = free_port() if cluster else 0
        self.port = free_port()
        self.dir = workdir / f"redis-{self.port}"
        self.dir.mkdir(parents=True)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, socket_connect_timeout=1)

    def start(self, timeout: float = 10) -> None:
        with open(self.dir / "redis.log", "ab") as log_file:
            self.proc = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "yes" if self.durable else "no", "--appendfsync", "always",
                 "--daemonize", "no", "--dir", str(self.dir),
                 *(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                    "--cluster-port", str(self.bus_port)] if self.cluster else [])],
                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with suppress(redis.RedisError):
                if self.client().ping() and (not self.cluster or self._cluster_ready()):
                    return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"redis-server did not start on 127.0.0.1:{self.port}:\n{_tail(self.dir / 'redis.log')}")

    def _cluster_ready(self) -> bool:
        client = self.client()
        info = client.execute_command("CLUSTER", "INFO")
        info = info.decode() if isinstance(info, bytes) else str(info)
        if "cluster_slots_assigned:0" in info:  # a new node: it takes every slot
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
            return False
        return "cluster_state:ok" in info

    def stop(self, save: bool = True) -> None:
        """Stop it as a maintenance restart or failover does: SHUTDOWN SAVE writes the data
        set once (no save points are configured), so the restart finds the stream again.
        ``save=False``, for a server that is thrown away: SIGTERM, which saves nothing as no
        save points are configured (and does not wait out redis-py's reconnection back-off
        after SHUTDOWN, ~4 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        if save:
            with suppress(redis.RedisError):
                self.client().shutdown(save=True)
        else:
            self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    @property
    def up(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class ThrowawayPostgres:
    """A PostgreSQL cluster made with initdb under ``workdir``, on a free port, for this run only.

    ``workdir`` must be traversable by the ``postgres`` user when running as root.
    """

    def __init__(self, workdir: Path, *, dbname: str = "weatherapi",
                 bindir: str | os.PathLike[str] | None = None) -> None:
        found = postgres_bindir(bindir)
        if found is None:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
        self.bin = found
        self.port = free_port()
        self.dir = workdir / "pg"
        self.data = self.dir / "data"
        self.dir.mkdir()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres user
            user = _unprivileged_user()
            shutil.chown(self.dir, user, pwd.getpwnam(user).pw_gid)
            self.as_user = ["runuser", "-u", user, "--"]
        self.dbname = dbname
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/{self.dbname}"
        self.running = False

    def _run(self, *args: str) -> None:
        try:
            subprocess.run([*self.as_user, *args], check=True, capture_output=True, cwd="/tmp")  # noqa: S108
        except subprocess.CalledProcessError as e:
            output = (e.stdout or b"").decode(errors="replace") + (e.stderr or b"").decode(errors="replace")
            log = _tail(self.dir / "postgres.log")
            raise RuntimeError(f"{' '.join(args[:2])}... failed ({e.returncode}):\n{output}{log}") from e

    def init(self) -> None:
        """initdb, start, and create the database of ``url``."""
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")
        self.start()
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {self.dbname}")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off -c max_connections=200")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.dir / "postgres.log"), "-w", "-t", "30", "start")
        self.running = True

    def stop(self, mode: str = "immediate") -> None:
        """``immediate``: the server dies without a checkpoint, as in a crash or failover."""
        if self.running:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
            self.running = False

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def ensure_stopped(self) -> None:
        """For a cluster about to be deleted: ``pg_ctl stop -m immediate``, and SIGKILL to
        the postmaster when that fails."""
        pid = self.postmaster_pid()
        try:
            self.running = True  # a crashed or half-started server is stopped too
            self.stop("immediate")
        except RuntimeError:
            self.running = False
            if pid is not None:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        import psycopg

        with psycopg.connect(self.url, connect_timeout=5) as conn:
            row = conn.execute(sql, params).fetchone()
            return row[0] if row else None


# ----------------------------------------------------------------------------- the test suite's


class PrivateServices:
    """Redis and PostgreSQL for a test run that was not given ``REDIS_URL`` / ``DATABASE_URL``.

    A variable that is set, even to the empty string, is the caller's choice and is left
    alone (``REDIS_URL= make test`` runs without Redis). For each unset one, a private
    server is started in one temporary directory and the variable is set in ``environ``;
    when the binary is missing nothing is started and ``missing`` holds the reason.
    ``stop()`` (idempotent) stops what was started, deletes the directory and removes
    the variables it set.
    """

    def __init__(self, environ: MutableMapping[str, str] | None = None, *, dbname: str = "weatherapi") -> None:
        self.environ: MutableMapping[str, str] = os.environ if environ is None else environ
        self.dbname = dbname
        self.workdir: Path | None = None
        self.redis: PrivateRedis | None = None
        self.postgres: ThrowawayPostgres | None = None
        self.set_vars: dict[str, str] = {}
        self.missing: dict[str, str] = {}  # "redis" / "postgres" -> why it was not started
        self.notes: list[str] = []

    def _workdir(self) -> Path:
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="wxtest-services-"))
            self.workdir.chmod(0o755)  # the postgres user (running as root) must reach its cluster
        return self.workdir

    def start(self) -> PrivateServices:
        try:
            self._start_redis()
            self._start_postgres()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_redis(self) -> None:
        if "REDIS_URL" in self.environ:
            self.notes.append("Redis: REDIS_URL from the environment" if self.environ["REDIS_URL"]
                              else "Redis: none (REDIS_URL is empty)")
            return
        binary = redis_server_binary()
        if binary is None:
            self.missing["redis"] = "redis-server not installed"
            self.notes.append("Redis: none, redis-server not installed (REDIS_URL unset)")
            return
        for attempt in range(3):  # a free port may be taken before redis-server binds it
            server = PrivateRedis(self._workdir(), binary=binary)
            try:
                server.start()
            except RuntimeError:
                if attempt == 2:
                    raise
                continue
            self.redis = server
            break
        assert self.redis is not None
        self.environ["REDIS_URL"] = self.set_vars["REDIS_URL"] = self.redis.url
        pid = self.redis.proc.pid if self.redis.proc is not None else None
        self.notes.append(f"Redis: private redis-server on 127.0.0.1:{self.redis.port} (pid {pid})")

    def _start_postgres(self) -> None:
        if "DATABASE_URL" in self.environ:
            self.notes.append("PostgreSQL: DATABASE_URL from the environment" if self.environ["DATABASE_URL"]
                              else "PostgreSQL: none, SQLite (DATABASE_URL is empty)")
            return
        bindir = postgres_bindir()
        if bindir is None:
            self.missing["postgres"] = ("PostgreSQL server binaries not installed "
                                        "(initdb, pg_ctl, postgres under /usr/lib/postgresql/*/bin)")
            self.notes.append("PostgreSQL: none, server binaries not installed (DATABASE_URL unset: SQLite)")
            return
        self.postgres = ThrowawayPostgres(self._workdir(), dbname=self.dbname, bindir=bindir)
        self.postgres.init()
        self.environ["DATABASE_URL"] = self.set_vars["DATABASE_URL"] = self.postgres.url
        self.notes.append(f"PostgreSQL: private cluster {bindir.parent.name} on 127.0.0.1:{self.postgres.port} "
                          f"(pid {self.postgres.postmaster_pid()})")

    def stop(self) -> None:
        if self.redis is not None:
            with suppress(Exception):
                self.redis.stop(save=False)
            self.redis.kill()
            self.redis = None
        if self.postgres is not None:
            with suppress(Exception):
                self.postgres.ensure_stopped()
            self.postgres = None
        for name, value in self.set_vars.items():
            if self.environ.get(name) == value:
                del self.environ[name]
        self.set_vars.clear()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> PrivateServices:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
