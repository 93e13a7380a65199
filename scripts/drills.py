#!/usr/bin/env python
"""Failure drills (issue 9): real processes, real faults, and the books checked afterwards.

    .venv/bin/python scripts/drills.py [--only NAME[,NAME...]] [--write-docs] [--keep]

Every drill starts its own stack on free ports: a private ``redis-server`` (never the
shared one on 6379), the fake OpenWeather server, gunicorn (2 workers of the shipped class) and the
usage worker as a separate process, all against one throwaway PostgreSQL cluster made with
``initdb`` under /tmp for the whole run (never the shared one on 5432). Each drill sends
steady keep-alive load with a fresh live API key, injects its fault, recovers, and asserts
(docs/design.md: metering, failure behaviour):

* no 500 (no 5xx other than the 503/504 the failure behaviour names) and no client-side connection error;
* 503/504 only where the failure behaviour says so, with their problem code and ``Retry-After``;
* after the usage worker has drained the stream, the billable ``UsageEvent`` rows *and*
  the billable sum of the daily rollups of that key's account both equal the number of 2xx
  answers the client received: every billable answer billed exactly once.

Drills: redis, redis-crash, postgres, upstream, worker-kill, sigterm, both-down. The results table is
printed; with ``--write-docs`` it also replaces the results section of
docs/reliability.md. Exit status 1 when any assertion failed. Needs redis-server and the
PostgreSQL server binaries (/usr/lib/postgresql/*/bin); traffic only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import redis
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.servers import GunicornServer  # noqa: E402
from tests.support.services import PrivateRedis, ThrowawayPostgres, redis_server_binary  # noqa: E402

PY = sys.executable
UPSTREAM_KEY = "drill-upstream-key"
STREAM = "{wx}:usage:events"
GROUP = "usage-workers"
PLAN = "drills"

# Places of the fake's gazetteer: the "warm" keys, cached after the warm-up.
WARM_PATHS = [
    f"/v1/weather/{kind}?lat={lat}&lon={lon}"
    for kind in ("current", "forecast")
    for lat, lon in ((51.51, -0.13), (47.37, 8.55), (55.75, 37.62), (35.69, 139.69), (-23.55, -46.64))
]


def cold_path(rng: random.Random, kind: str = "current") -> str:
    """A location nobody asked for before: always a cache miss (open sea at the fake)."""
    return f"/v1/weather/{kind}?lat={rng.uniform(-60, 60):.4f}&lon={rng.uniform(-170, 170):.4f}"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ----------------------------------------------------------------------------- infrastructure


class FakeUpstream:
    def __init__(self, workdir: Path) -> None:
        self.proc = subprocess.Popen(
            [PY, "-m", "tests.fakes.openweather", "--port", "0", "--api-key", UPSTREAM_KEY],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=open(workdir / "fake.log", "ab"),  # noqa: SIM115
            text=True, start_new_session=True,
        )
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line.startswith("LISTENING"):
            raise RuntimeError(f"fake upstream did not start: {line!r}")
        self.url = line.split()[1]

    def fault(self, **spec: Any) -> None:
        requests.post(self.url + "/__fake__/fault", json=spec, timeout=5).raise_for_status()

    def clear(self) -> None:
        requests.post(self.url + "/__fake__/clear_faults", timeout=5).raise_for_status()

    def calls(self) -> int:
        return int(requests.get(self.url + "/__fake__/calls", timeout=5).json()["total"])

    def stop(self) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)


def run_manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class UsageWorkerProc:
    def __init__(self, env: dict[str, str], workdir: Path, consumer: str) -> None:
        self.consumer = consumer
        self.proc = subprocess.Popen(
            [PY, "manage.py", "usage_worker", "--consumer", consumer], cwd=ROOT, env=env,
            stdout=open(workdir / f"worker-{consumer}.log", "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
            start_new_session=True,
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


# ----------------------------------------------------------------------------- load


@dataclass(slots=True)
class Answer:
    started: float
    ended: float
    phase: str
    kind: str  # "warm", "cold", "slow"
    status: int  # 0: connection error (refused, reset, timeout)
    code: str = ""
    stale: bool = False
    retry_after: str | None = None
    error: str = ""
    server: str = ""
    phase_end: str = ""  # the phase when the answer arrived (a fault may start in between)


def classify(response: requests.Response) -> tuple[str, bool, str | None]:
    code, stale = "", False
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = str(body.get("code") or "")
        source = body.get("source")
        if isinstance(source, dict):
            stale = bool(source.get("stale"))
    return code, stale, response.headers.get("Retry-After")


class Load:
    """Keep-alive load from a few threads, each with its own ``requests.Session``.

    ``phase`` is read when a request starts and stored with its answer; ``base`` can be
    switched to a second server. Bounded by ``max_requests`` and by ``stop()``.
    """

    def __init__(self, base: str, key: str, *, threads: int = 6, cold_share: float = 0.1,
                 pace: float = 0.005, max_requests: int = 200_000, kind: str = "current") -> None:
        self.base = base
        self.key = key
        self.threads = threads
        self.cold_share = cold_share
        self.pace = pace
        self.max_requests = max_requests
        self.cold_kind = kind
        self._phase = "steady"
        self.phase_started: dict[str, float] = {"steady": time.monotonic()}
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    @property
    def phase(self) -> str:
        return self._phase

    @phase.setter
    def phase(self, name: str) -> None:
        self.phase_started[name] = time.monotonic()
        self._phase = name

    def one(self, session: requests.Session, path: str, kind: str, timeout: float = 15) -> Answer:
        phase, base = self.phase, self.base
        started = time.monotonic()
        try:
            response = session.get(base + path, headers={"X-API-Key": self.key}, timeout=timeout)
        except requests.RequestException as e:
            answer = Answer(started, time.monotonic(), phase, kind, 0, error=type(e).__name__, server=base,
                            phase_end=self.phase)
        else:
            code, stale, retry_after = classify(response)
            answer = Answer(started, time.monotonic(), phase, kind, response.status_code, code, stale,
                            retry_after, server=base, phase_end=self.phase)
        self.answers.append(answer)
        return answer

    def _run(self, seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - load shape, not security
        session = requests.Session()
        while not self._stop.is_set() and len(self.answers) < self.max_requests:
            if rng.random() < self.cold_share:
                answer = self.one(session, cold_path(rng, self.cold_kind), "cold")
            else:
                answer = self.one(session, rng.choice(WARM_PATHS), "warm")
            if answer.status == 0:
                session.close()
                session = requests.Session()
                self._stop.wait(0.05)
            elif self.pace:
                self._stop.wait(self.pace)
        session.close()

    def start(self) -> Load:
        for i in range(self.threads):
            t = threading.Thread(target=self._run, args=(i + 1,), daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._workers:
            t.join(30)


# ----------------------------------------------------------------------------- drill runs


@dataclass
class Result:
    name: str
    proves: str
    requests: int = 0
    ok: int = 0
    s503: int = 0
    s504: int = 0
    other5xx: int = 0
    conn_errors: int = 0
    billed_events: int = -1
    billed_rollups: int = -1
    expected: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            self.failures.append(message)


class Stack:
    """One drill's processes: private Redis, fake upstream, gunicorn, usage worker."""

    def __init__(self, ctx: Context, name: str, *, extra_env: dict[str, str] | None = None,
                 start_worker: bool = True, metering_store: bool = False) -> None:
        self.ctx = ctx
        self.name = name
        self.workdir = ctx.workdir / name
        self.workdir.mkdir()
        self.redis = PrivateRedis(self.workdir)
        self.redis.start()
        # With ``metering_store``: the usage stream and counters on a second, durable
        # redis-server (USAGE_REDIS_URL), as production's MemoryDB; else on the cache's.
        self.metering: PrivateRedis | None = None
        if metering_store:
            # A one-node cluster, as a one-shard MemoryDB: it refuses keys across slots.
            self.metering = PrivateRedis(self.workdir, durable=True, cluster=True)
            self.metering.start()
        self.fake = FakeUpstream(self.workdir)
        self.env = {
            **ctx.base_env,
            "REDIS_URL": self.redis.url,
            "OPENWEATHER_BASE_URL": self.fake.url,
            **({"USAGE_REDIS_URL": self.metering.url, "USAGE_REDIS_CLUSTER": "1"} if self.metering else {}),
            **(extra_env or {}),
        }
        email = f"drill-{name}-{secrets.token_hex(4)}@example.com"
        self.key = run_manage(self.env, "create_api_key", "--email", email, "--plan", PLAN,
                              "--name", name).strip().splitlines()[-1]
        digest = hashlib.sha256(self.key.encode()).hexdigest()
        self.account_id = int(ctx.pg.query("SELECT account_id FROM accounts_apikey WHERE digest = %s", (digest,)))
        self.workers: list[UsageWorkerProc] = []
        if start_worker:
            self.start_worker()
        self.servers: list[GunicornServer] = []
        self.server = self.start_server()

    def start_server(self) -> GunicornServer:
        server = GunicornServer(self.env, workers=2, threads=8,
                                log_path=self.workdir / f"gunicorn-{len(self.servers)}.log")
        server.start()
        self.servers.append(server)
        return server

    def start_worker(self) -> UsageWorkerProc:
        worker = UsageWorkerProc(self.env, self.workdir, f"drill-w{len(self.workers)}")
        self.workers.append(worker)
        return worker

    def warm(self) -> None:
        """Every warm path answered once: cached copies exist, the credential is cached."""
        with requests.Session() as s:
            for path in WARM_PATHS:
                r = s.get(self.server.url + path, headers={"X-API-Key": self.key}, timeout=15)
                if r.status_code != 200:
                    raise RuntimeError(f"warm-up {path}: {r.status_code} {r.text[:200]}")
                self.warm_ok += 1

    warm_ok = 0

    def readyz(self) -> int:
        try:
            return requests.get(self.server.url + "/readyz", timeout=5).status_code
        except requests.RequestException:
            return 0

    @property
    def store(self) -> PrivateRedis:
        """The server holding the usage stream and the counters."""
        return self.metering or self.redis

    def stream_len(self) -> int:
        return int(self.store.client().xlen(STREAM))

    def month_counter(self) -> int:
        month = time.strftime("%Y%m", time.gmtime())
        return int(self.store.client().get(f"{{wx}}:rl:a{self.account_id}:q:{month}") or 0)

    def settle(self, timeout: float = 60) -> None:
        """Wait until the usage worker has stored and acknowledged everything in the stream
        (acknowledged entries are deleted, so an empty stream means all stored)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with suppress(redis.RedisError):
                if self.stream_len() == 0:
                    return
            time.sleep(0.25)
        raise RuntimeError(f"the usage stream did not drain in {timeout:.0f}s ({self.stream_len()} left)")

    def billed(self) -> tuple[int, int]:
        events = self.ctx.pg.query(
            "SELECT count(*) FROM billing_usageevent WHERE account_id = %s AND billable", (self.account_id,))
        rollups = self.ctx.pg.query(
            "SELECT coalesce(sum(billable), 0) FROM billing_usagedaily WHERE account_id = %s", (self.account_id,))
        return int(events), int(rollups)

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        for worker in self.workers:
            worker.stop()
        self.fake.stop()
        self.redis.kill()
        if self.metering:
            self.metering.kill()


@dataclass
class Context:
    workdir: Path
    pg: ThrowawayPostgres
    base_env: dict[str, str]
    scale: float = 1.0

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds * self.scale)


def tally(result: Result, answers: list[Answer], stack: Stack, *,
          allowed_503: Callable[[Answer], bool] = lambda a: False,
          counted: Callable[[Answer], bool] = lambda a: True) -> None:
    """The common assertions: statuses, connection errors, Retry-After, billed exactly once."""
    with suppress(OSError), open(stack.workdir / "answers.jsonl", "w", encoding="utf-8") as out:
        for a in answers:
            out.write(json.dumps(asdict(a)) + "\n")
    mine = [a for a in answers if counted(a)]
    result.requests = len(mine)
    result.ok = sum(1 for a in mine if 200 <= a.status < 300)
    result.s503 = sum(1 for a in mine if a.status == 503)
    result.s504 = sum(1 for a in mine if a.status == 504)
    result.other5xx = sum(1 for a in mine if a.status >= 500 and a.status not in (503, 504))
    result.conn_errors = sum(1 for a in mine if a.status == 0)
    result.check(result.other5xx == 0, f"{result.other5xx} answers of 500 or another unexpected 5xx")
    result.check(result.conn_errors == 0,
                 f"{result.conn_errors} connection errors: {sorted({a.error for a in mine if a.status == 0})}")
    odd = [a for a in mine if a.status not in (0, 200, 503, 504)]
    result.check(not odd, f"unexpected statuses {sorted({(a.status, a.code) for a in odd})}")
    unavailable = [a for a in mine if a.status in (503, 504)]
    not_allowed = [a for a in unavailable if not allowed_503(a)]
    result.check(not not_allowed, f"{len(not_allowed)} 503/504 where the failure behaviour allows none: "
                 f"{sorted({(a.phase, a.phase_end, a.kind, a.code) for a in not_allowed})[:6]}")
    no_retry = [a for a in unavailable if not a.retry_after]
    result.check(not no_retry, f"{len(no_retry)} 503/504 answers without Retry-After")
    # Every 2xx anyone received was billable (live key, weather endpoints), the warm-up included.
    result.expected = sum(1 for a in answers if 200 <= a.status < 300) + stack.warm_ok
    stack.settle()
    result.billed_events, result.billed_rollups = stack.billed()
    result.check(result.billed_events == result.expected,
                 f"billable events {result.billed_events} != 2xx answers {result.expected}")
    result.check(result.billed_rollups == result.expected,
                 f"billable in rollups {result.billed_rollups} != 2xx answers {result.expected}")


@contextmanager
def drill_stack(ctx: Context, name: str, **kw: Any) -> Iterator[Stack]:
    stack = Stack(ctx, name, **kw)
    try:
        yield stack
    finally:
        stack.close()
        if not ctx.pg.running:
            ctx.pg.start()


# ----------------------------------------------------------------------------- the drills


def drill_redis(ctx: Context) -> Result:
    result = Result("redis", "Redis stopped and restarted: weather served with the cache bypassed, throttles "
                    "per process, usage straight to PostgreSQL, then through the stream again; billed once")
    with drill_stack(ctx, "redis") as stack:
        stack.warm()
        load = Load(stack.server.url, stack.key).start()
        ctx.sleep(3)
        load.phase = "redis-down"
        stack.redis.stop()
        before = stack.billed()[0]
        ctx.sleep(5)
        readyz = stack.readyz()
        during = stack.billed()[0]
        load.phase = "redis-back"
        stack.redis.start()
        ctx.sleep(2)
        added_1 = int(stack.redis.client().xinfo_stream(STREAM)["entries-added"])
        ctx.sleep(3)
        added_2 = int(stack.redis.client().xinfo_stream(STREAM)["entries-added"])
        load.stop()
        tally(result, load.answers, stack)
        down = [a for a in load.answers if a.phase == "redis-down"]
        result.check(sum(1 for a in down if a.status == 200) > 0, "no weather served while Redis was down")
        result.check(during > before, "no usage written straight to PostgreSQL while Redis was down")
        result.check(readyz == 200, f"/readyz answered {readyz} with PostgreSQL up")
        result.check(added_2 > added_1, "usage did not flow through the stream again after the restart")
        result.notes.append(f"{len(down)} requests while Redis was down ({during - before} events straight "
                            f"to PostgreSQL); stream took {added_2 - added_1} events in 3 s after the restart")
    return result


def drill_redis_crash(ctx: Context) -> Result:
    result = Result("redis-crash", "Each Redis SIGKILLed in turn under load, the usage worker running: the "
                    "cache, then the durable metering store (USAGE_REDIS_URL, appendfsync always); "
                    "billed = answered and the monthly quota counter = billed")
    with drill_stack(ctx, "redis-crash", metering_store=True) as stack:
        assert stack.metering is not None  # noqa: S101
        stack.warm()
        load = Load(stack.server.url, stack.key).start()
        ctx.sleep(3)
        notes = []
        for phase, server in (("cache-killed", stack.redis), ("store-killed", stack.metering)):
            load.phase = phase
            in_stream = stack.stream_len()
            server.kill()  # SIGKILL: no shutdown, no save
            ctx.sleep(2)
            server.start()
            load.phase = phase.replace("killed", "back")
            ctx.sleep(4)
            notes.append(f"{phase.split('-')[0]} SIGKILLed with {in_stream} entries in the stream")
        load.stop()
        tally(result, load.answers, stack)
        counter = stack.month_counter()
        result.check(counter == result.expected,
                     f"monthly quota counter {counter} != billed {result.expected} (free or lost quota)")
        served = {p: sum(1 for a in load.answers if a.phase == p and a.status == 200)
                  for p in ("cache-killed", "store-killed")}
        result.check(all(served.values()), f"no weather served while a Redis was down: {served}")
        notes.append(f"answers while down: {served}; quota counter {counter} = billed")
        result.notes.append("; ".join(notes))
    return result


def drill_postgres(ctx: Context) -> Result:
    result = Result("postgres", "PostgreSQL stopped (immediate) and restarted: traffic goes on with cached "
                    "credentials and plans, events wait in the stream, /readyz stays 200; billed once")
    with drill_stack(ctx, "postgres") as stack:
        stack.warm()
        load = Load(stack.server.url, stack.key).start()
        ctx.sleep(3)
        load.phase = "postgres-down"
        ctx.pg.stop("immediate")
        readyz: list[int] = []
        end = time.monotonic() + 6 * ctx.scale
        while time.monotonic() < end:
            readyz.append(stack.readyz())
            time.sleep(0.5)
        backlog = stack.stream_len()
        load.phase = "postgres-back"
        ctx.pg.start()
        ctx.sleep(4)
        load.stop()
        tally(result, load.answers, stack)
        down = [a for a in load.answers if a.phase == "postgres-down"]
        result.check(sum(1 for a in down if a.status == 200) > 0, "no weather served while PostgreSQL was down")
        result.check(all(s == 200 for s in readyz), f"/readyz not always 200 with Redis up: {sorted(set(readyz))}")
        result.check(backlog > 0, "no usage events waited in the stream during the outage")
        result.notes.append(f"{len(down)} requests while PostgreSQL was down; {backlog} events waited in the "
                            f"stream; /readyz {len(readyz)}x 200")
    return result


def drill_upstream(ctx: Context) -> Result:
    result = Result("upstream", "Upstream down (dropped connections), slow past the read timeout, 429, 401, "
                    "garbage: stale copies where cached, else 503/504 with Retry-After; the breaker opens "
                    "and closes again")
    reset = 2
    extra = {"OPENWEATHER_BREAKER_RESET_SECONDS": str(reset), "OPENWEATHER_READ_TIMEOUT": "1.0"}
    faults: list[tuple[str, dict[str, Any], float]] = [
        ("down", {"kind": "drop"}, 4),
        ("slow", {"kind": "latency", "latency": 1.6}, 4),
        ("429", {"kind": "status", "status": 429}, 3),
        ("401", {"kind": "status", "status": 401}, 2),
        ("garbage", {"kind": "garbage"}, 3),
    ]
    with drill_stack(ctx, "upstream", extra_env=extra) as stack:
        stack.warm()
        load = Load(stack.server.url, stack.key, cold_share=0.3).start()
        ctx.sleep(3)  # copies older than their 2 s TTL: stale copies exist from here on
        open_calls: list[str] = []
        recoveries: list[tuple[str, float]] = []
        for name, spec, seconds in faults:
            load.phase = name
            stack.fake.fault(**spec)
            ctx.sleep(seconds - 1)
            c1 = stack.fake.calls()
            ctx.sleep(1)
            c2 = stack.fake.calls()
            open_calls.append(f"{name} {c2 - c1}")
            # Recovery: each worker's breaker lets a trial call through after its reset time
            # and closes; the next fault starts against closed breakers (a timeout is a 504
            # only then: a failed trial call answers "circuit open", a 503).
            load.phase = f"{name}-recovery"
            recoveries.append((load.phase, time.monotonic()))
            stack.fake.clear()
            ctx.sleep(reset + 3)
        calls_at_end = stack.fake.calls()
        load.phase = "after"
        ctx.sleep(2)
        calls_after = stack.fake.calls()
        load.stop()
        fault_names = {name for name, _, _ in faults}
        recovered_at = dict(recoveries)

        # A breaker re-opened by a trial call that failed just before recovery (a slow one ends
        # a read timeout later) stays open for ``reset`` seconds more.
        grace = reset + 1.0 + 1.0

        def allowed(a: Answer) -> bool:
            # Failure behaviour: no stale copy (a cold key) while the upstream fails or the breaker is still open.
            in_window = a.phase in fault_names or a.phase_end in fault_names or (
                a.phase in recovered_at and a.started < recovered_at[a.phase] + grace)
            return a.kind == "cold" and in_window and a.code in ("upstream_unavailable", "upstream_timeout")

        tally(result, load.answers, stack, allowed_503=allowed)
        faulty = [a for a in load.answers if a.phase in fault_names]
        stale = [a for a in faulty if a.stale and a.status == 200]
        warm_failed = [a for a in faulty if a.kind == "warm" and a.status != 200]
        result.check(not warm_failed, f"{len(warm_failed)} cached keys not served (stale) during faults")
        result.check(len(stale) > 0, "no stale copy served during the faults")
        stale_outside = [a for a in load.answers if a.stale and a.phase in ("steady", "after")]
        result.check(not stale_outside, f"{len(stale_outside)} stale answers while the upstream was healthy")
        timeouts = [a for a in load.answers if a.phase == "slow" and a.status == 504]
        result.check(len(timeouts) > 0, "no 504 upstream_timeout for a cold key past the read timeout")
        result.check(calls_after > calls_at_end, "upstream calls did not resume after recovery")
        closed = []
        for phase, at in recoveries:
            tail = [a for a in load.answers
                    if a.phase == a.phase_end == phase and a.kind == "cold" and a.started > at + grace]
            closed.append(bool(tail) and all(a.status == 200 and not a.stale for a in tail))
            if not closed[-1]:
                result.notes.append(f"{phase} tail: {[(round(a.started - at, 2), round(a.ended - at, 2), a.status, a.code, a.stale) for a in tail if a.status != 200 or a.stale][:8]}")
        result.check(all(closed), f"breaker not closed {grace} s after recovery: {closed}")
        after = [a for a in load.answers if a.phase == "after"]
        result.check(bool(after) and all(a.status == 200 and not a.stale for a in after),
                     "traffic not fully back (fresh 200s) after the last recovery")
        result.notes.append(f"{len(stale)} stale copies served, {result.s503} x 503 + {result.s504} x 504 on "
                            f"cold keys; upstream calls in each fault's last second (breakers open): "
                            f"{', '.join(open_calls)}; breakers closed again after all {len(closed)} recoveries; "
                            f"{calls_after - calls_at_end} upstream calls in the last 2 s")
    return result


def consumer_pending(client: redis.Redis, consumer: str) -> int:
    """Entries delivered to ``consumer`` and not acknowledged (0 before the group exists)."""
    try:
        info = client.xpending(STREAM, GROUP)
    except redis.ResponseError:  # NOGROUP: the worker has not created the group yet
        return 0
    return next((int(c["pending"]) for c in info["consumers"] if c["name"] in (consumer, consumer.encode())), 0)


def drill_worker_kill(ctx: Context) -> Result:
    result = Result("worker-kill", "The usage worker SIGKILLed twice mid-batch (entries delivered, not yet "
                    "acknowledged) and restarted: reclaimed by the next worker, nothing lost or duplicated")
    with drill_stack(ctx, "worker-kill", start_worker=False) as stack:
        stack.warm()
        load = Load(stack.server.url, stack.key).start()
        ctx.sleep(3)  # a backlog builds up: the first batch is a big one
        client = stack.redis.client()
        kills: list[str] = []
        for _ in range(2):
            load.phase = "worker-kill"
            worker = stack.start_worker()
            deadline = time.monotonic() + 20
            pending = 0
            while time.monotonic() < deadline:
                pending = consumer_pending(client, worker.consumer)
                if pending > 0:
                    worker.kill()
                    break
                time.sleep(0.001)
            result.check(pending > 0, "never caught the worker between reading and acknowledging a batch")
            left_mine = consumer_pending(client, worker.consumer)
            kills.append(f"{worker.consumer} killed with {left_mine} entries unacknowledged")
            ctx.sleep(1)
        load.phase = "restarted"
        stack.start_worker()
        ctx.sleep(3)
        load.stop()
        tally(result, load.answers, stack)
        result.notes.append("; ".join(kills))
    return result


def drill_sigterm(ctx: Context) -> Result:
    result = Result("sigterm", "gunicorn SIGTERMed under load with 1 s requests in flight: every request "
                    "accepted before the signal completes (graceful), a second server takes over; billed once")
    with drill_stack(ctx, "sigterm", extra_env={"OPENWEATHER_READ_TIMEOUT": "5"}) as stack:
        stack.warm()
        stack.fake.fault(kind="latency", latency=1.0, path_prefix="/data/2.5/forecast")
        load = Load(stack.server.url, stack.key, cold_share=0.2).start()
        ctx.sleep(2)
        old = stack.server
        rng = random.Random(99)  # noqa: S311
        slow: list[Answer] = []

        def slow_one(path: str) -> None:
            with requests.Session() as s:
                slow.append(load.one(s, path, "slow", timeout=30))

        slow_threads = [threading.Thread(target=slow_one, args=(cold_path(rng, "forecast"),)) for _ in range(8)]
        for t in slow_threads:
            t.start()
        time.sleep(0.4)  # the slow requests are in the workers now
        load.phase = "sigterm"
        signalled = time.monotonic()
        assert old.proc is not None  # noqa: S101
        os.kill(old.proc.pid, signal.SIGTERM)  # to the master, as Kubernetes does
        for t in slow_threads:
            t.join(30)
        old.proc.wait(40)
        exited = time.monotonic() - signalled
        load.phase = "second-server"
        stack.server = stack.start_server()
        load.base = stack.server.url
        ctx.sleep(3)
        load.stop()

        def before_signal(a: Answer) -> bool:
            return a.started < signalled or a.server != old.url

        tally(result, load.answers, stack, counted=before_signal)
        refused = [a for a in load.answers if not before_signal(a) and a.status == 0]
        late_errors = [a for a in load.answers if not before_signal(a) and a.status >= 500]
        result.check(not late_errors, f"{len(late_errors)} 5xx from the stopping server")
        result.check(len(slow) == 8 and all(a.status == 200 for a in slow),
                     f"slow in-flight requests: {[(a.status, a.error) for a in slow]}")
        result.check(all(a.ended - a.started >= 0.9 for a in slow), "slow requests did not take the injected 1 s")
        result.check(old.proc.returncode == 0, f"gunicorn exited with {old.proc.returncode}")
        result.notes.append(f"8 requests of ~1 s in flight at SIGTERM all 200; gunicorn exited {exited:.1f} s after "
                            f"the signal; {len(refused)} connections refused after it (expected, not counted)")
    return result


def drill_both_down(ctx: Context) -> Result:
    result = Result("both-down", "Redis then PostgreSQL down: 503 service_unavailable (no unmetered "
                    "service) and /readyz 503 while both are down; served again after recovery; billed once")
    with drill_stack(ctx, "both-down") as stack:
        stack.warm()
        load = Load(stack.server.url, stack.key).start()
        ctx.sleep(2)
        load.phase = "redis-down"
        stack.redis.stop()
        ctx.sleep(3)
        load.phase = "both-down"
        ctx.pg.stop("immediate")
        ctx.sleep(2)
        readyz_down = stack.readyz()
        ctx.sleep(2)
        load.phase = "postgres-back"
        ctx.pg.start()
        pg_back = time.monotonic()  # pg_ctl start -w: accepting connections from here
        ctx.sleep(3)
        readyz_pg = stack.readyz()
        load.phase = "redis-back"
        stack.redis.start()
        ctx.sleep(3)
        load.stop()

        def allowed(a: Answer) -> bool:
            window = "both-down" in (a.phase, a.phase_end) or (a.phase == "postgres-back" and a.started < pg_back + 0.5)
            return window and a.status == 503 and a.code == "service_unavailable"

        tally(result, load.answers, stack, allowed_503=allowed)
        both = [a for a in load.answers if a.phase == "both-down"]
        served = [a for a in both if a.status == 200 and a.started > both[0].started + 0.5] if both else []
        result.check(not served, f"{len(served)} answers served (unmetered) with both stores down")
        result.check(readyz_down == 503, f"/readyz answered {readyz_down} with both down")
        result.check(readyz_pg == 200, f"/readyz answered {readyz_pg} with PostgreSQL back")
        tail = [a for a in load.answers if a.phase == "redis-back"]
        result.check(bool(tail) and all(a.status == 200 for a in tail), "not all 200 after recovery")
        result.notes.append(f"{len(both)} requests with both down: "
                            f"{sum(1 for a in both if a.status == 503)} x 503 service_unavailable")
    return result


DRILLS: dict[str, Callable[[Context], Result]] = {
    "redis": drill_redis,
    "redis-crash": drill_redis_crash,
    "postgres": drill_postgres,
    "upstream": drill_upstream,
    "worker-kill": drill_worker_kill,
    "sigterm": drill_sigterm,
    "both-down": drill_both_down,
}


# ----------------------------------------------------------------------------- report


HEADER = ("| drill | requests | 2xx | 503 | 504 | other 5xx | conn errors | billed (events) | "
          "billed (rollups) | expected | seconds | result |")


def table(results: list[Result]) -> str:
    lines = [HEADER, "|" + "---|" * 12]
    for r in results:
        lines.append(
            f"| {r.name} | {r.requests} | {r.ok} | {r.s503} | {r.s504} | {r.other5xx} | {r.conn_errors} | "
            f"{r.billed_events} | {r.billed_rollups} | {r.expected} | {r.seconds:.0f} | "
            f"{'pass' if r.passed else 'FAIL'} |")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, Python {platform.python_version()}"


def write_docs(results: list[Result], total: float, command: str) -> None:
    path = ROOT / "docs" / "reliability.md"
    begin, end = "<!-- drills:begin -->", "<!-- drills:end -->"
    block = [begin, "", f"Command: `{command}`  ", f"Machine: {machine()}  ",
             f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {total:.0f} s in all", "",
             table(results), ""]
    for r in results:
        block.append(f"- **{r.name}**: {'; '.join(r.notes) or '-'}"
                     + (f" **Failures:** {'; '.join(r.failures)}" if r.failures else ""))
    block += ["", end]
    text = path.read_text(encoding="utf-8") if path.exists() else f"# Reliability\n\n{begin}\n{end}\n"
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    path.write_text(head + "\n".join(block) + tail, encoding="utf-8")


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help=f"comma-separated drills: {', '.join(DRILLS)}")
    parser.add_argument("--write-docs", action="store_true", help="put the table into docs/reliability.md")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",")] if args.only else list(DRILLS)
    unknown = [n for n in names if n not in DRILLS]
    if unknown:
        parser.error(f"unknown drill(s) {unknown}; choose from {list(DRILLS)}")
    if redis_server_binary() is None:
        sys.exit("redis-server is missing")

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="wxdrills-"))
    workdir.chmod(0o755)
    pg = ThrowawayPostgres(workdir, dbname="weatherapi_drills", bindir=os.environ.get("DRILLS_PG_BINDIR") or None)
    results: list[Result] = []
    failed_setup = False
    try:
        log(f"initdb + PostgreSQL on 127.0.0.1:{pg.port} ({pg.bin}), work dir {workdir}")
        pg.init()
        base_env = {
            **{k: v for k, v in os.environ.items()
               if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "OPENWEATHER_", "CACHE_",
                                    "USAGE_", "PROMETHEUS_", "GUNICORN_", "METRICS_", "SECRETS_DIR"))},
            "DATABASE_URL": pg.url,
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "METRICS_TOKEN": secrets.token_urlsafe(16),
            "LOG_LEVEL": "WARNING",
            "OPENWEATHER_API_KEY": UPSTREAM_KEY,
            "OPENWEATHER_CONNECT_TIMEOUT": "0.5",
            "OPENWEATHER_READ_TIMEOUT": "1.0",
            "OPENWEATHER_BREAKER_FAIL_MAX": "5",
            "OPENWEATHER_BREAKER_RESET_SECONDS": "3",
            "COALESCE_WAIT_SECONDS": "3",
            # Short TTLs: copies go stale within a drill, so stale serving is exercised.
            "CACHE_TTL_CURRENT": "2",
            "CACHE_TTL_FORECAST": "2",
            # A dead worker's entries are taken over after 2 s, not the default minute.
            "USAGE_RECLAIM_IDLE_SECONDS": "2",
            "DATABASE_CONNECT_TIMEOUT": "2",
        }
        run_manage(base_env, "migrate", "--noinput", "-v0")
        run_manage(base_env, "upsert_plan", PLAN, "--name", "Drills", "--requests-per-minute", "1000000",
                   "--included", "100000000", "--overage-per-1000", "0.01")
        ctx = Context(workdir=workdir, pg=pg, base_env=base_env)
        log(f"set up in {time.monotonic() - started:.1f} s")
        for name in names:
            log(f"drill {name} ...")
            t0 = time.monotonic()
            try:
                result = DRILLS[name](ctx)
            except Exception as e:  # noqa: BLE001 - a drill that breaks is a failed drill
                result = Result(name, "")
                result.failures.append(f"drill crashed: {type(e).__name__}: {e}")
                traceback.print_exc()
                if not pg.running:
                    with suppress(Exception):
                        pg.start()
            result.seconds = time.monotonic() - t0
            results.append(result)
            log(f"drill {name}: {'pass' if result.passed else 'FAIL'} in {result.seconds:.0f} s")
            for note in result.notes:
                log(f"  {note}")
            for failure in result.failures:
                log(f"  FAILED: {failure}")
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        failed_setup = True
    finally:
        with suppress(Exception):
            pg.stop("fast")
        if args.keep or any(not r.passed for r in results) or failed_setup:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    total = time.monotonic() - started
    print()
    print(f"machine: {machine()}")
    print(table(results))
    print(f"\n{len(results)} drills in {total:.0f} s")
    if args.write_docs:
        command = ".venv/bin/python scripts/drills.py" + (f" --only {args.only}" if args.only else "")
        write_docs(results, total, command)
    ok = not failed_setup and len(results) == len(names) and all(r.passed for r in results)
    print("all drills passed" if ok else "DRILLS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
