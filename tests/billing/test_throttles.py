"""PlanThrottle: burst and monthly quota, exact in Redis, approximate in memory."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from accounts.credentials import Principal
from billing.throttles import (
    ALLOWED,
    QUOTA_EXCEEDED,
    RATE_LIMITED,
    MemoryLimiter,
    RateState,
    Windows,
    limiter_hit,
    limiter_peek,
)
from tests.billing.conftest import make_plan, subscribe
from tests.factories import AccountFactory
from tests.support.redis_wire import redis_round_trips

pytestmark = pytest.mark.django_db

SANDBOX = "/v1/weather/current?lat=10&lon=20"


def _principal(*, rpm: int = 5, included: int = 1000, mode: str = "live") -> Principal:
    """The caller of a new account on a plan of its own with these limits (hard cap)."""
    account = AccountFactory()
    subscribe(account, make_plan(f"p{account.pk}", rpm=rpm, included=included))
    return Principal(account_id=account.pk, credential_type="api_key", credential_id=1, credential_prefix="wx",
                     mode=mode)  # type: ignore[arg-type]


def test_burst_limit_refuses_with_rate_limited_and_headers(account, test_client):
    subscribe(account, make_plan("tiny", rpm=3))
    answers = [test_client.get(SANDBOX) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0]["RateLimit-Policy"] == '"minute";q=3;w=60, "month";q=1000000;w=2592000'
    assert answers[0]["RateLimit"].startswith('"minute";r=2;t=')
    refused = answers[3]
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["RateLimit"].startswith('"minute";r=0;')


def test_hard_cap_gives_quota_exceeded_until_next_month(account, live_client, upstream):
    subscribe(account, make_plan("capped", included=2))
    statuses = [live_client.get("/v1/weather/current", {"lat": "51.5", "lon": "-0.12"}).status_code
                for _ in range(2)]
    assert statuses == [200, 200]
    refused = live_client.get("/v1/weather/current", {"lat": "51.5", "lon": "-0.12"})
    assert refused.status_code == 429 and refused.json()["code"] == "quota_exceeded"
    now = datetime.now(tz=UTC)
    next_month = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    assert abs(int(refused["Retry-After"]) - (next_month - now).total_seconds()) < 5
    assert refused["RateLimit"].startswith('"month";r=0;')
    # The account endpoints count toward the burst only: still answered.
    assert live_client.get("/v1/account").status_code == 200


def test_the_quota_counts_billable_answers_only(account, live_client, upstream, client):
    # A hard cap of 2: an upstream failure (503) and a bad request (400) use none of it.
    from django.core.management import call_command

    subscribe(account, make_plan("capped", included=2))
    upstream.set_fault("status", status=500)
    failed = live_client.get("/v1/weather/current", {"lat": "51.5", "lon": "-0.12"})
    upstream.clear_faults()
    bad = live_client.get("/v1/weather/current", {"lat": "95", "lon": "-0.12"})
    assert (failed.status_code, bad.status_code) == (503, 400)
    assert limiter_peek(account_id=account.pk).month_used == 0
    call_command("usage_worker", "--once")
    body = live_client.get("/v1/account").json()
    assert (body["quota"]["used"], body["billable_requests"]) == (0, 0)

    answered = live_client.get("/v1/weather/current", {"lat": "51.5", "lon": "-0.12"})
    assert answered.status_code == 200 and answered["RateLimit"].startswith('"month";r=1;')
    call_command("usage_worker", "--once")
    body = live_client.get("/v1/account").json()
    assert (body["quota"]["used"], body["billable_requests"]) == (1, 1)
    # The portal shows the same number.
    client.force_login(account.owner)
    assert "1 of 2" in client.get("/portal/").content.decode()

    assert live_client.get("/v1/weather/current", {"lat": "51.5", "lon": "-0.12"}).status_code == 200
    refused = live_client.get("/v1/weather/current", {"lat": "51.5", "lon": "-0.12"})
    assert refused.status_code == 429 and refused.json()["code"] == "quota_exceeded"


def test_memory_limiter_gives_back_a_reservation():
    limiter, w = MemoryLimiter(10), Windows.at(1_700_000_000)
    assert limiter.hit(1, w, rpm=10, cap=1, month_units=1)[0] == ALLOWED
    assert limiter.hit(1, w, rpm=10, cap=1, month_units=1)[0] == QUOTA_EXCEEDED
    limiter.refund(1, w.month_id)
    limiter.refund(1, w.month_id)  # never below zero
    assert limiter.peek(1, w) == (1, 0)
    assert limiter.hit(1, w, rpm=10, cap=1, month_units=1)[0] == ALLOWED


def test_overage_plan_has_no_monthly_cap(account, live_client, upstream):
    subscribe(account, make_plan("metered", included=1, overage=Decimal("0.10")))
    for _ in range(3):
        assert live_client.get("/v1/weather/current", {"lat": "51.5", "lon": "-0.12"}).status_code == 200


def test_test_mode_does_not_use_the_monthly_quota(account, test_client):
    subscribe(account, make_plan("capped", included=1))
    assert [test_client.get(SANDBOX).status_code for _ in range(3)] == [200, 200, 200]


def test_headers_on_errors_after_authentication(account, test_client):
    answer = test_client.get("/v1/weather/current?lat=999&lon=0")
    assert answer.status_code == 400
    assert answer["RateLimit-Policy"].startswith('"minute";q=')
    assert answer["RateLimit"].startswith('"minute";r=')


def test_no_headers_without_credentials(api_client, db):
    answer = api_client.get(SANDBOX)
    assert answer.status_code == 401
    assert "RateLimit" not in answer


def test_headers_name_the_policy_closest_to_exhaustion():
    state = RateState(plan_code="t", minute_limit=60, minute_used=1, minute_reset=30, month_limit=100,
                      month_used=99, month_reset=1000, hard_cap=True, month_cap=100, source="redis")
    assert state.headers()["RateLimit"] == '"month";r=1;t=1000'
    # Past the included amount of an overage plan calls still pass: the minute governs.
    uncapped = RateState(**{**{f: getattr(state, f) for f in state.__slots__}, "hard_cap": False,
                            "month_cap": None})
    assert uncapped.headers()["RateLimit"] == '"minute";r=59;t=30'
    assert uncapped.headers()["RateLimit-Policy"].endswith('"month";q=100;w=2592000')


def test_memory_limiter_exact_within_a_process_and_bounded():
    limiter = MemoryLimiter(max_keys=3)
    w = Windows.at(time.time())
    results: list[int] = []
    lock = threading.Lock()

    def hit() -> None:
        verdict, *_ = limiter.hit(7, w, rpm=10, cap=1000, month_units=1)
        with lock:
            results.append(verdict)

    with ThreadPoolExecutor(16) as pool:
        for _ in range(50):
            pool.submit(hit)
    assert results.count(ALLOWED) == 10 and results.count(RATE_LIMITED) == 40
    for account_id in range(100):
        limiter.hit(account_id, w, rpm=1, cap=1, month_units=0)
    assert len(limiter._counters) == 3


def test_memory_fallback_without_redis(settings):
    settings.REDIS_URL = None
    principal = _principal(rpm=2, included=3)
    verdicts = [limiter_hit(principal=principal, counts_month=True)[0] for _ in range(3)]
    assert verdicts == [ALLOWED, ALLOWED, RATE_LIMITED]
    state = limiter_hit(principal=principal, counts_month=True)[1]
    assert state is not None and state.source == "memory"


def test_memory_fallback_quota(settings):
    settings.REDIS_URL = None
    principal = _principal(rpm=100, included=2)
    verdicts = [limiter_hit(principal=principal, counts_month=True)[0] for _ in range(3)]
    assert verdicts == [ALLOWED, ALLOWED, QUOTA_EXCEEDED]


def test_redis_exactly_n_of_many_concurrent_threads(redis):
    from billing.limits import plan_limits_load

    principal = _principal(rpm=25, included=10_000)
    plan_limits_load(account_id=principal.account_id)  # the threads see Redis, not the test's transaction
    with ThreadPoolExecutor(32) as pool:
        verdicts = list(pool.map(lambda _: limiter_hit(principal=principal, counts_month=True)[0], range(200)))
    assert verdicts.count(ALLOWED) == 25
    assert verdicts.count(RATE_LIMITED) == 175


def test_redis_month_key_expires_after_month_end(redis):
    principal = _principal(rpm=10, included=10)
    now = time.time()
    limiter_hit(principal=principal, counts_month=True, now=now)
    w = Windows.at(now)
    ttl = redis.ttl(f"{{wx}}:rl:a{principal.account_id}:q:{w.month_id}")
    assert w.month_end - now < ttl <= w.month_end - now + 3600 + 1


def test_redis_is_one_round_trip(redis):
    principal = _principal()
    limiter_hit(principal=principal, counts_month=True)  # loads the script and the limits once
    with redis_round_trips() as calls:
        limiter_hit(principal=principal, counts_month=True)
    assert calls == ["EVALSHA"]


def test_a_server_that_lost_its_scripts_gets_the_script_again(redis):
    principal = _principal()
    limiter_hit(principal=principal, counts_month=True)
    redis.script_flush()  # what a restart or a failover does to the script cache
    with redis_round_trips() as calls:
        verdict, state = limiter_hit(principal=principal, counts_month=True)
    assert calls == ["EVALSHA", "SCRIPT", "EVALSHA"]  # redis-py's Script loads it again
    assert state is not None and (verdict, state.source, state.minute_used) == (ALLOWED, "redis", 2)


def test_a_reply_lost_to_a_timeout_is_never_read_as_the_next_answer(redis, monkeypatch):
    from redis.connection import AbstractConnection
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from weatherapi.redis import redis_reset

    principal = _principal()
    limiter_hit(principal=principal, counts_month=True)
    real_read = AbstractConnection.read_response

    def times_out_once(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(AbstractConnection, "read_response", real_read)
        self.disconnect()  # what redis-py does with a connection whose read timed out
        raise RedisTimeoutError("Timeout reading from socket")

    monkeypatch.setattr(AbstractConnection, "read_response", times_out_once)
    _, state = limiter_hit(principal=principal, counts_month=True)
    assert state is not None and state.source == "memory"  # the fallback limiter answered
    redis_reset()
    verdict, state = limiter_hit(principal=principal, counts_month=True)
    # The timed-out call was counted by Redis before its reply was lost: 1 + 1 + this one.
    assert state is not None and (verdict, state.source, state.minute_used) == (ALLOWED, "redis", 3)


def test_a_plan_change_takes_effect_on_the_next_request(redis, django_capture_on_commit_callbacks):
    principal = _principal(rpm=1)
    assert limiter_hit(principal=principal, counts_month=True)[0] == ALLOWED
    assert limiter_hit(principal=principal, counts_month=True)[0] == RATE_LIMITED
    from accounts.models import Account

    with django_capture_on_commit_callbacks(execute=True):
        subscribe(Account.objects.get(pk=principal.account_id), make_plan("roomy", rpm=100))
    verdict, state = limiter_hit(principal=principal, counts_month=True)
    assert state is not None and (verdict, state.plan_code, state.minute_limit) == (ALLOWED, "roomy", 100)
