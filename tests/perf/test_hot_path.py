"""Structural checks of the paid hot path (issue 8): what a warm cached request costs.

Not timed (timings live in ``scripts/bench.py`` and docs/performance.md): these count the
database queries and the Redis round trips of a warm, cached ``GET /v1/weather/current``
made with a live API key and with an OAuth2 bearer token, through the whole middleware
stack (auth, throttles, cache, metering, metrics).

They need Redis: without ``REDIS_URL`` metering writes each usage event to the database
by design, so "no query" does not hold there and the tests skip. CI (``.ci/run``) sets
``REDIS_URL`` and ``DATABASE_URL``, so they run there on PostgreSQL and Redis.
"""

from __future__ import annotations

import pytest
from django.conf import settings

from accounts.credentials import digest
from tests.support.redis_wire import redis_round_trips

pytestmark = pytest.mark.django_db

URL = "/v1/weather/current?lat=51.51&lon=-0.13"

# The round trip of a warm cached request (docs/design.md, the request path): one EVALSHA that
#   - checks the credential's version token, which validates the in-process copy of the
#     resolved credential (revocation and suspension take effect at once);
#   - reads the plan's limits and counts the plan throttle (minute burst + monthly quota, atomic);
#   - appends the usage event to the stream (durable before the answer leaves).
# The weather body comes from the process's own fresh copy (forecasts.cache), prepared
# before the throttle runs, so the event can ride with the admission.
EXPECTED_ROUND_TRIPS = 1


def _warm(client) -> None:  # type: ignore[no-untyped-def]
    # First call: upstream fetch, credential from the database; second: everything cached.
    for _ in range(2):
        response = client.get(URL)
        assert response.status_code == 200, response.content


def test_warm_cached_request_with_api_key_makes_no_query(live_client, upstream, redis, django_assert_num_queries):
    _warm(live_client)
    with django_assert_num_queries(0):
        response = live_client.get(URL)
    assert response.status_code == 200
    assert response.json()["source"]["cached"] is True


def test_warm_cached_request_with_api_key_redis_round_trips(live_client, upstream, redis):
    _warm(live_client)
    with redis_round_trips() as calls:
        response = live_client.get(URL)
    assert response.status_code == 200
    assert len(calls) == EXPECTED_ROUND_TRIPS, calls
    assert calls == ["EVALSHA"], calls


def test_without_the_local_copy_the_body_and_the_event_are_separate_round_trips(live_client, upstream, redis):
    """Another process filled the shared cache: GET for the body, XADD after the view."""
    from forecasts.cache import local_clear

    _warm(live_client)
    local_clear()
    with redis_round_trips() as calls:
        response = live_client.get(URL)
    assert response.status_code == 200
    assert response.json()["source"]["cached"] is True
    assert calls == ["EVALSHA", "GET", "XADD"], calls


def test_the_event_recorded_with_the_admission_is_the_answer_given(live_client, account, upstream, redis):
    from billing.services.usage import UsageRecord

    _warm(live_client)
    redis.delete(settings.USAGE_STREAM_KEY)
    response = live_client.get(URL, HTTP_X_REQUEST_ID="req-hot-path-0001")
    assert response.status_code == 200
    entries = redis.xrange(settings.USAGE_STREAM_KEY)
    assert len(entries) == 1  # once: by the script, not again by the metering middleware
    record = UsageRecord.from_json(entries[0][1][b"e"])
    assert (record.account_id, record.endpoint, record.status, record.billable, record.cache, record.mode) == (
        account.id, "weather.current", 200, True, "hit", "live")
    assert record.request_id == "req-hot-path-0001"
    assert response["RateLimit"].startswith('"minute";r=')


def test_a_throttled_request_with_the_answer_in_hand_records_its_429_once(
    live_client, account, upstream, redis, django_capture_on_commit_callbacks
):
    from billing.models import Plan
    from billing.services import subscription_change
    from billing.services.usage import UsageRecord

    _warm(live_client)  # two requests of this minute's five
    plan = Plan.objects.create(code="tiny", name="Tiny", requests_per_minute=5, included_requests=1000)
    with django_capture_on_commit_callbacks(execute=True):
        subscription_change(account=account, plan=plan)
    redis.delete(settings.USAGE_STREAM_KEY)
    from prometheus_client import REGISTRY

    def hits() -> float:
        return REGISTRY.get_sample_value(
            "weatherapi_cache_requests_total", {"endpoint": "current", "outcome": "hit"}) or 0.0

    hits_before = hits()
    with redis_round_trips() as calls:
        statuses = [live_client.get(URL).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    # A refusal is one script call (it counts nothing) plus its 429's event. The plan
    # change made the first call find no limits (counting nothing): the limits are loaded
    # and the script called again.
    admissions = [c for c in calls if c in ("EVALSHA", "XADD", "PIPELINE[HSET,EXPIRE]")]
    assert admissions == ["EVALSHA", "PIPELINE[HSET,EXPIRE]"] + ["EVALSHA"] * 3 + ["EVALSHA", "XADD"] * 2, calls
    records = [UsageRecord.from_json(e[1][b"e"]) for e in redis.xrange(settings.USAGE_STREAM_KEY)]
    assert [(r.status, r.billable) for r in records] == [(200, True)] * 3 + [(429, False)] * 2
    assert hits() - hits_before == 3  # a refused request served nothing from the cache


def _bearer_client(api_client, account):  # type: ignore[no-untyped-def]
    from accounts import services

    _client, secret = services.oauth_client_create(account=account, mode="live", name="perf")
    response = api_client.post(
        "/o/token/", {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=_basic(_client.application.client_id, secret),
    )
    assert response.status_code == 200, response.content
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}")
    return api_client


def _basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_warm_cached_request_with_bearer_token(api_client, account, upstream, redis, django_assert_num_queries):
    client = _bearer_client(api_client, account)
    _warm(client)
    with django_assert_num_queries(0), redis_round_trips() as calls:
        response = client.get(URL)
    assert response.status_code == 200
    assert calls == ["EVALSHA"], calls


def test_revocation_still_takes_effect_at_once(live_client, live_key, upstream, redis):
    """The in-process credential copy never outlives a revocation (version stamp)."""
    from accounts import services
    from accounts.models import ApiKey

    _warm(live_client)
    services.api_key_revoke(api_key=ApiKey.objects.get(digest=digest(live_key)))
    response = live_client.get(URL)
    assert response.status_code == 401


def test_suspension_still_takes_effect_at_once(live_client, account, upstream, redis):
    from accounts import services

    _warm(live_client)
    services.account_suspend(account=account, actor=None)
    response = live_client.get(URL)
    assert response.status_code == 403


def test_usage_store_updates_last_used_in_one_statement(account):
    """The worker's batch costs one last_used_at UPDATE whatever the number of keys in it."""
    from datetime import UTC, datetime, timedelta
    from uuid import uuid4

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts import services
    from billing.services.usage import UsageRecord, usage_events_store

    keys = [services.api_key_create(account=account, mode="live")[0] for _ in range(5)]
    base = datetime(2026, 10, 1, tzinfo=UTC)
    records = [
        UsageRecord(id=uuid4(), account_id=account.pk, credential_type="api_key", credential_id=key.pk,
                    endpoint="weather.current", mode="live", status=200, billable=True, cache="hit",
                    latency_ms=1, occurred_at=base + timedelta(seconds=i))
        for i, key in enumerate(keys * 4)
    ]
    with CaptureQueriesContext(connection) as queries:
        assert usage_events_store(records=records) == len(records)
    updates = [q["sql"] for q in queries.captured_queries if "UPDATE" in q["sql"] and "apikey" in q["sql"]]
    assert len(updates) == 1, updates
    for i, key in enumerate(keys):
        key.refresh_from_db()
        assert key.last_used_at == base + timedelta(seconds=15 + i)  # the newest of its four events
    # Never backwards: an older batch leaves the newer times alone.
    older = [UsageRecord(**{**{f: getattr(r, f) for f in r.__slots__}, "id": uuid4(), "occurred_at": base})
             for r in records[:5]]
    usage_events_store(records=older)
    keys[0].refresh_from_db()
    assert keys[0].last_used_at == base + timedelta(seconds=15)


def test_upstream_calls_of_one_process_run_concurrently(fake_openweather):
    """pybreaker serializes the guarded call; ours must not (structural: overlap, not speed)."""
    import threading

    from forecasts.providers.openweather_client import OpenWeatherClient

    fake_openweather.set_fault("latency", latency=0.3)
    client = OpenWeatherClient(base_url=fake_openweather.url, api_key=fake_openweather.api_key, retries=0)
    in_flight, peak, lock = [0], [0], threading.Lock()
    original = client._get_with_retries

    def tracked(*args, **kwargs):  # type: ignore[no-untyped-def]
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        try:
            return original(*args, **kwargs)
        finally:
            with lock:
                in_flight[0] -= 1

    client._get_with_retries = tracked  # type: ignore[method-assign]
    threads = [
        threading.Thread(target=client.get, args=("/data/2.5/weather", {"lat": 10 + i, "lon": 10}),
                         kwargs={"endpoint": "current"})
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 4


@pytest.mark.parametrize("prepared", [True, False])
def test_a_lost_script_reply_still_bills_the_request_once(
    live_client, account, upstream, redis, monkeypatch, prepared
):
    """The script ran (counted, appended the prepared answer's event) but its reply timed
    out: the request falls back to the in-memory limiter and stores its event in the
    database. Both copies carry the same event id, so the request is billed once.
    Unprepared (the process held no copy of the answer), only the database's copy exists."""
    import redis.exceptions
    from django.core.management import call_command

    from billing import throttles
    from billing.models import UsageEvent
    from forecasts.cache import local_clear
    from weatherapi.redis import redis_reset

    _warm(live_client)
    call_command("usage_worker", "--once")
    before = UsageEvent.objects.filter(account_id=account.id).count()
    if not prepared:
        local_clear()
    real_script = throttles._script
    lost = []

    def script_whose_reply_is_lost(client):  # type: ignore[no-untyped-def]
        script = real_script(client)

        def call(keys, args):  # type: ignore[no-untyped-def]
            script(keys=keys, args=args)
            lost.append(args[4])  # ARGV[5]: the usage event (billing.throttles._LUA)
            raise redis.exceptions.TimeoutError("Timeout reading from socket")

        return call

    monkeypatch.setattr(throttles, "_script", script_whose_reply_is_lost)
    try:
        response = live_client.get(URL, HTTP_X_REQUEST_ID="req-lost-reply")
    finally:
        monkeypatch.undo()
        redis_reset()
    assert response.status_code == 200
    assert lost and bool(lost[0]) == prepared  # the script got the event when it was prepared
    call_command("usage_worker", "--once")  # the stream's copy reaches the database too
    events = UsageEvent.objects.filter(account_id=account.id, request_id="req-lost-reply")
    assert events.count() == 1
    assert UsageEvent.objects.filter(account_id=account.id).count() == before + 1
    assert (events.get().status, events.get().billable) == (200, True)


def test_a_throttle_class_added_to_the_view_applies_to_a_warm_cached_answer(live_client, upstream, redis,
                                                                           monkeypatch):
    """One pipeline: whatever DRF runs for a view also runs for the answers it prepares."""
    from rest_framework.throttling import BaseThrottle

    from forecasts.views import CurrentWeatherView

    class Closed(BaseThrottle):
        def allow_request(self, request, view):  # type: ignore[no-untyped-def]
            return False

    _warm(live_client)
    monkeypatch.setattr(CurrentWeatherView, "throttle_classes", [*CurrentWeatherView.throttle_classes, Closed])
    assert live_client.get(URL).status_code == 429


def test_a_prepared_answer_is_the_answer_an_unprepared_request_gets(live_client, upstream, redis):
    import json

    from forecasts.cache import local_clear

    def comparable(response):  # type: ignore[no-untyped-def]
        body = json.loads(response.content)
        body["source"].pop("age_seconds")
        return response.status_code, response["Content-Type"], body

    _warm(live_client)
    prepared = live_client.get(URL)
    local_clear()  # the next answer comes from the shared cache, after the throttle
    unprepared = live_client.get(URL)
    assert comparable(prepared) == comparable(unprepared)


def test_a_token_without_the_scope_gets_403(api_client, account, upstream, redis):
    from accounts import services

    _client, secret = services.oauth_client_create(account=account, mode="live", name="no-weather")
    token = api_client.post(
        "/o/token/", {"grant_type": "client_credentials", "scope": "account:read"},
        HTTP_AUTHORIZATION=_basic(_client.application.client_id, secret),
    ).json()["access_token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api_client.get("/v1/account").status_code == 200  # the credential is now held
    denied = api_client.get(URL)
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"


def test_a_copy_made_stale_by_another_process_is_resolved_again(live_client, live_key, upstream, redis):
    """Another process bumped the credential's version: the script refuses the copy as
    stale, counting nothing, and the credential is resolved afresh."""
    from accounts.credentials import _VERSION_PREFIX, _api_key_cache_key

    _warm(live_client)
    redis.set(_VERSION_PREFIX + _api_key_cache_key(digest(live_key)), "bumped-elsewhere")
    with redis_round_trips() as calls:
        response = live_client.get(URL)
    assert response.status_code == 200
    # the stale copy's script call, the version token, the credential from the cache, the admission.
    assert calls == ["EVALSHA", "GET", "GET", "EVALSHA"], calls
    assert response["RateLimit"].startswith('"minute";r=')
