"""MeteringMiddleware: one usage event per authenticated /v1/ request, to the stream or
straight to the database, and 503 rather than unmetered billable service."""

from __future__ import annotations

import pytest
from django.db import DatabaseError

from billing import throttles
from billing.models import UsageDaily, UsageEvent
from billing.services import usage as usage_services
from tests.factories import AccountFactory, api_key_for

pytestmark = pytest.mark.django_db

SANDBOX = "/v1/weather/current?lat=10&lon=20"


class _BrokenRedis:
    """Stands in for a Redis that refuses every command."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("redis is down")

        return fail


def test_without_redis_events_go_to_the_database(settings, account, live_key, api_client, upstream):
    settings.REDIS_URL = None
    api_client.credentials(HTTP_X_API_KEY=live_key)
    ok = api_client.get("/v1/weather/current", {"lat": "51.5", "lon": "-0.12"})
    bad = api_client.get("/v1/weather/current", {"lat": "999", "lon": "0"})
    mine = api_client.get("/v1/account")
    assert (ok.status_code, bad.status_code, mine.status_code) == (200, 400, 200)
    events = {e.endpoint + str(e.status): e for e in UsageEvent.objects.filter(account=account)}
    assert set(events) == {"weather.current200", "weather.current400", "account200"}
    first = events["weather.current200"]
    assert first.billable and first.mode == "live" and first.cache == "miss"
    assert first.credential_type == "api_key" and first.latency_ms >= 0
    assert first.request_id == ok["X-Request-ID"]
    assert not events["weather.current400"].billable and not events["account200"].billable
    rollup = UsageDaily.objects.get(account=account, endpoint="weather.current")
    assert (rollup.requests, rollup.billable, rollup.errors) == (2, 1, 1)
    assert account.api_keys.get().last_used_at is not None


def test_test_mode_is_recorded_but_never_billable(settings, account, test_client):
    settings.REDIS_URL = None
    assert test_client.get(SANDBOX).status_code == 200
    event = UsageEvent.objects.get(account=account)
    assert event.mode == "test" and not event.billable


def test_unauthenticated_requests_are_not_metered(settings, api_client):
    settings.REDIS_URL = None
    api_client.get(SANDBOX)
    api_client.credentials(HTTP_X_API_KEY="wx_live_" + "a" * 40)
    api_client.get(SANDBOX)
    assert UsageEvent.objects.count() == 0


def test_redis_down_events_go_to_the_database(settings, monkeypatch, account, test_client):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(usage_services, "redis_client", lambda: _BrokenRedis())
    monkeypatch.setattr(throttles, "redis_client", lambda: _BrokenRedis())
    answer = test_client.get(SANDBOX)
    assert answer.status_code == 200
    assert answer["RateLimit"].startswith('"minute";r=')
    assert UsageEvent.objects.filter(account=account).count() == 1


def test_redis_and_database_down_before_the_view_is_503(settings, monkeypatch, account, test_client):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(throttles, "redis_client", lambda: _BrokenRedis())
    monkeypatch.setattr(throttles, "_database_answers", lambda: False)
    answer = test_client.get(SANDBOX)
    assert answer.status_code == 503
    assert answer.json()["code"] == "service_unavailable"


def test_both_sinks_fail_after_the_view_billable_answer_becomes_503(settings, monkeypatch, account, live_key,
                                                                    api_client, upstream):
    settings.REDIS_URL = None

    def fail(**kwargs):
        raise DatabaseError("database is down")

    monkeypatch.setattr(usage_services, "usage_events_store", fail)
    api_client.credentials(HTTP_X_API_KEY=live_key)
    answer = api_client.get("/v1/weather/current", {"lat": "51.5", "lon": "-0.12"})
    assert answer.status_code == 503 and answer.json()["code"] == "service_unavailable"
    assert "RateLimit" in answer
    # Not billable (an error): it goes out as it is, and the loss is counted.
    assert api_client.get("/v1/weather/current", {"lat": "999", "lon": "0"}).status_code == 400


def test_events_go_to_the_stream_with_redis(redis, account, test_client):
    assert test_client.get(SANDBOX).status_code == 200
    assert redis.xlen("{wx}:usage:events") == 1
    assert UsageEvent.objects.count() == 0


def test_accounts_are_metered_separately(settings):
    settings.REDIS_URL = None
    from tests.support.client import routed_api_client

    a, b = AccountFactory(), AccountFactory()
    for account in (a, b):
        client = routed_api_client()
        client.credentials(HTTP_X_API_KEY=api_key_for(account, mode="test"))
        client.get(SANDBOX)
    assert UsageEvent.objects.filter(account=a).count() == 1
    assert UsageEvent.objects.filter(account=b).count() == 1
