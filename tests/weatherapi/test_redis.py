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


def test_every_metering_path_works_on_the_store(metering_store, account, live_client, upstream, api_client):
    # On the one-node cluster this fails with CROSSSLOT (or redis-py's "all keys must map to
    # the same key slot") wherever one command or script spans keys of different slots.
    from accounts import services
    from accounts.models import ApiKey
    from billing.throttles import limiter_peek
    from tests.factories import oauth_client_for

    warm = {"lat": "51.5", "lon": "-0.12"}
    assert live_client.get("/v1/weather/current", warm).status_code == 200  # a miss: the middleware appends
    assert live_client.get("/v1/weather/current", warm).status_code == 200  # warm: the script appends
    assert live_client.get("/v1/weather/current", {"lat": "95", "lon": "0"}).status_code == 400  # refunded
    assert limiter_peek(account_id=account.pk).month_used == 2
    assert metering_store.client().xlen(STREAM) == 3

    client, secret = oauth_client_for(account)
    token = api_client.post("/o/token/", {"grant_type": "client_credentials", "scope": "weather:read"},
                            HTTP_AUTHORIZATION=_basic(client.application.client_id, secret))
    assert token.status_code == 200, token.content
    bearer = token.json()["access_token"]
    assert api_client.get("/v1/weather/current", warm, HTTP_AUTHORIZATION=f"Bearer {bearer}").status_code == 200

    services.api_key_revoke(api_key=ApiKey.objects.get(account=account))
    assert live_client.get("/v1/weather/current", warm).status_code == 401  # the version token moved

    call_command("usage_worker", "--once")
    assert metering_store.client().xlen(STREAM) == 0
    assert UsageEvent.objects.filter(account=account, billable=True).count() == 3


def _basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_a_metering_store_down_from_the_start_is_a_fallback_not_an_error(metering_store, account, live_client, upstream):
    # RedisCluster asks the nodes for their slots when it is created: a store that is down
    # before this process first reached it must not turn into a 500.
    metering_store.kill()
    answer = live_client.get("/v1/weather/current", {"lat": "51.5", "lon": "-0.12"})
    assert answer.status_code == 200, answer.content
    assert UsageEvent.objects.filter(account=account, billable=True).count() == 1  # straight to the database
