"""The metering store (USAGE_REDIS_URL) apart from the cache's Redis (weatherapi/redis.py)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from billing.models import UsageEvent
from weatherapi.redis import metering_store_url, redis_client

pytestmark = pytest.mark.django_db(transaction=True)

STREAM = "{wx}:usage:events"


def test_the_metering_store_defaults_to_the_cache_redis(settings):
    settings.USAGE_REDIS_URL = None
    assert metering_store_url() == settings.REDIS_URL
    settings.REDIS_URL = None
    assert metering_store_url() is None and redis_client() is None


def test_usage_and_counters_go_to_the_metering_store_only(metering_store, redis, account, live_client, upstream, client):
    answer = live_client.get("/v1/weather/current", {"lat": "51.5", "lon": "-0.12"})
    assert answer.status_code == 200
    store = metering_store.client()
    assert store.xlen(STREAM) == 1 and redis.xlen(STREAM) == 0
    counters = sorted(k.decode() for k in store.keys("{wx}:rl:*"))
    assert len(counters) == 2 and not redis.keys("{wx}:rl:*")
    assert store.config_get("appendfsync") == {"appendfsync": "always"}

    call_command("usage_worker", "--once")
    assert store.xlen(STREAM) == 0
    assert UsageEvent.objects.filter(account=account, billable=True).count() == 1

    ready = client.get("/readyz").json()
    assert ready["checks"]["metering_store"]["status"] == "up"


def test_the_metering_store_keeps_what_it_acknowledged_through_a_crash(metering_store, account, live_client, upstream):
    for _ in range(3):
        assert live_client.get("/v1/weather/current", {"lat": "51.5", "lon": "-0.12"}).status_code == 200
    metering_store.kill()  # SIGKILL: nothing written after the last acknowledged command
    metering_store.start()
    store = metering_store.client()
    assert store.xlen(STREAM) == 3
    call_command("usage_worker", "--once")
    assert UsageEvent.objects.filter(account=account, billable=True).count() == 3
