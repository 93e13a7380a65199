"""quota_counter_rebuild: a monthly counter the metering store lost is rebuilt, never zero."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from billing.throttles import Windows, _keys
from tests.billing.conftest import make_plan, subscribe

pytestmark = pytest.mark.django_db

PLACE = {"lat": "51.5", "lon": "-0.12"}


def _month_key(account_id: int) -> str:
    import time

    return _keys(account_id, Windows.at(time.time()))[1]


def test_a_lost_counter_is_rebuilt_from_the_rollups_and_the_stream(account, live_client, upstream, redis):
    # A hard cap of 3: two answers billed (one stored, one still in the stream), then the
    # store loses the counter (a crash without durability, a failover to an empty replica).
    subscribe(account, make_plan("capped", included=3))
    assert live_client.get("/v1/weather/current", PLACE).status_code == 200
    call_command("usage_worker", "--once")
    assert live_client.get("/v1/weather/current", PLACE).status_code == 200
    assert redis.xlen("{wx}:usage:events") == 1
    assert int(redis.get(_month_key(account.pk))) == 2

    redis.delete(_month_key(account.pk))
    third = live_client.get("/v1/weather/current", PLACE)
    assert third.status_code == 200
    assert int(redis.get(_month_key(account.pk))) == 3
    refused = live_client.get("/v1/weather/current", PLACE)
    assert refused.status_code == 429 and refused.json()["code"] == "quota_exceeded"


def test_an_event_both_stored_and_still_in_the_stream_counts_once(account, live_client, upstream, redis):
    # The worker stored the batch but died before deleting it from the stream.
    subscribe(account, make_plan("capped", included=3))
    assert live_client.get("/v1/weather/current", PLACE).status_code == 200
    entries = redis.xrange("{wx}:usage:events")
    call_command("usage_worker", "--once")
    for _, fields in entries:
        redis.xadd("{wx}:usage:events", fields)
    redis.delete(_month_key(account.pk))
    assert live_client.get("/v1/weather/current", PLACE).status_code == 200
    assert int(redis.get(_month_key(account.pk))) == 2


def test_a_new_month_starts_from_what_is_billed_in_it(account, live_client, upstream, redis):
    subscribe(account, make_plan("capped", included=3))
    redis.delete(_month_key(account.pk))
    answer = live_client.get("/v1/weather/current", PLACE)
    assert answer.status_code == 200
    assert int(redis.get(_month_key(account.pk))) == 1
    assert redis.ttl(_month_key(account.pk)) > 3600


def test_events_stored_straight_in_the_database_meanwhile_are_not_free_quota(
    metering_store, account, live_client, upstream, settings
):
    # A hard cap of 3. The metering store crashes after one answer: the next one is limited
    # in memory and its event stored straight in the database, which the store's counter
    # never saw. Once the store is back, that counter is forgotten and rebuilt.
    from billing.models import UsageEvent

    settings.BILLING_REDIS_RETRY_SECONDS = 0
    subscribe(account, make_plan("capped", included=3))
    assert live_client.get("/v1/weather/current", PLACE).status_code == 200
    metering_store.kill()
    assert live_client.get("/v1/weather/current", PLACE).status_code == 200
    assert UsageEvent.objects.filter(account=account, billable=True).count() == 1  # straight in
    metering_store.start()
    assert live_client.get("/v1/weather/current", PLACE).status_code == 200
    refused = live_client.get("/v1/weather/current", PLACE)
    assert refused.status_code == 429 and refused.json()["code"] == "quota_exceeded"
    assert int(metering_store.client().get(_month_key(account.pk))) == 3
