"""POST /v1/batch: each item answered as its single endpoint, metered and limited per item."""

from __future__ import annotations

import json

import pytest

from billing.models import UsageEvent
from tests.billing.conftest import make_plan, subscribe

pytestmark = pytest.mark.django_db

MIXED = [
    {"id": "london", "endpoint": "weather/current", "params": {"q": "London,GB", "units": "metric"}},
    {"id": "bad-lat", "endpoint": "weather/current", "params": {"lat": 91, "lon": 0}},
    {"id": "fc", "endpoint": "weather/forecast", "params": {"lat": "48.85", "lon": "2.35", "cnt": 2}},
    {"id": "nowhere", "endpoint": "weather/current", "params": {"q": "Atlantis-Unknown-Place"}},
    {"id": "aq", "endpoint": "air-quality", "params": {"lat": 48.85, "lon": 2.35}},
    {"id": "typo", "endpoint": "weather/now", "params": {"lat": 1, "lon": 2}},
    {"id": "geo", "endpoint": "geocode", "params": {"q": "Paris", "limit": 1}},
    {"id": "rev", "endpoint": "geocode/reverse", "params": {"lat": 51.5, "lon": -0.12}},
    {"id": "nested", "endpoint": "air-quality", "params": {"lat": [1], "lon": 2}},
]
SINGLE = {
    "london": "/v1/weather/current?q=London,GB&units=metric",
    "bad-lat": "/v1/weather/current?lat=91&lon=0",
    "fc": "/v1/weather/forecast?lat=48.85&lon=2.35&cnt=2",
    "nowhere": "/v1/weather/current?q=Atlantis-Unknown-Place",
    "aq": "/v1/air-quality?lat=48.85&lon=2.35",
    "geo": "/v1/geocode?q=Paris&limit=1",
    "rev": "/v1/geocode/reverse?lat=51.5&lon=-0.12",
}


@pytest.fixture(params=["redis", "memory"])
def store(request, settings):
    """The throttle and the metering with the suite's Redis, and with none (per process)."""
    if request.param == "redis":
        request.getfixturevalue("redis")
        from weatherapi.redis import redis_reset

        redis_reset()
    else:
        settings.REDIS_URL = None
    return request.param


def _stored(store) -> None:
    """Events in the usage stream (with Redis) moved to the database, as the worker does."""
    if store == "redis":
        from billing.services.usage_worker import UsageWorker
        from weatherapi.redis import redis_client

        UsageWorker(client=redis_client(), consumer="test").run_once()


def _post(client, body, **headers):
    return client.post("/v1/batch", data=json.dumps(body), content_type="application/json", **headers)


def _without_volatile(body: dict) -> dict:
    body = dict(body)
    body.pop("request_id", None)
    if "source" in body:
        body["source"] = {k: v for k, v in body["source"].items() if k in ("provider",)}
    return body


def test_mixed_items_answer_as_their_single_endpoints(settings, api_client, live_key, upstream):
    settings.REDIS_URL = None
    api_client.credentials(HTTP_X_API_KEY=live_key)
    response = _post(api_client, {"requests": MIXED})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["id"] for r in results] == [i["id"] for i in MIXED]
    by_id = {r["id"]: r for r in results}
    assert {k: r["status"] for k, r in by_id.items()} == {
        "london": 200, "bad-lat": 400, "fc": 200, "nowhere": 404, "aq": 200, "typo": 400, "geo": 200,
        "rev": 200, "nested": 400,
    }
    for item_id, path in SINGLE.items():
        single = api_client.get(path)
        assert single.status_code == by_id[item_id]["status"], item_id
        assert _without_volatile(single.json()) == _without_volatile(by_id[item_id]["body"]), item_id
    assert by_id["typo"]["body"]["code"] == "invalid_parameter"
    assert "endpoint" in by_id["typo"]["body"]["errors"]
    assert by_id["nested"]["body"]["errors"] == {"lat": ["Give a string or a number."]}
    assert by_id["bad-lat"]["body"]["request_id"] == response["X-Request-ID"]
    assert len(by_id["fc"]["body"]["steps"]) == 2


def test_each_item_is_metered_as_its_endpoint_and_only_200s_are_billable(store, account, api_client, live_key,
                                                                         upstream):
    api_client.credentials(HTTP_X_API_KEY=live_key)
    response = _post(api_client, {"requests": MIXED})
    assert response.status_code == 200
    _stored(store)
    events = list(UsageEvent.objects.filter(account=account))
    billed = sorted(e.endpoint for e in events if e.billable)
    assert billed == ["air_quality", "geocode", "geocode.reverse", "weather.current", "weather.forecast"]
    by_endpoint = sorted((e.endpoint, e.status) for e in events if not e.billable)
    assert by_endpoint == sorted(
        [("batch", 200), ("unknown", 400), ("air_quality", 400), ("weather.current", 400), ("weather.current", 404)]
    )
    assert all(e.request_id == response["X-Request-ID"] for e in events)


def test_the_quota_counts_the_billable_items_only(store, account, api_client, live_key, upstream):
    subscribe(account, make_plan("capped20", rpm=100, included=20))
    api_client.credentials(HTTP_X_API_KEY=live_key)
    assert _post(api_client, {"requests": MIXED}).status_code == 200  # 9 reserved, 5 kept
    mine = api_client.get("/v1/account").json()
    assert mine["quota"]["used"] == 5


def test_a_batch_larger_than_the_minute_allows_is_refused_whole(store, account, api_client, live_key, upstream):
    subscribe(account, make_plan("burst12", rpm=12))
    api_client.credentials(HTTP_X_API_KEY=live_key)
    assert _post(api_client, {"requests": MIXED}).status_code == 200  # 9 of 12 (+1 account read later)
    refused = _post(api_client, {"requests": MIXED[:4]})
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "rate_limited" and "4 items; 3 are left" in body["detail"]
    assert int(refused["Retry-After"]) >= 1
    assert _post(api_client, {"requests": MIXED[:3]}).status_code == 200  # exactly what was left
    assert not UsageEvent.objects.filter(account=account, endpoint="weather.forecast", billable=True,
                                         request_id=refused["X-Request-ID"]).exists()


def test_a_batch_past_a_hard_cap_is_refused_whole(store, account, api_client, live_key, upstream):
    subscribe(account, make_plan("capped3", rpm=100, included=3))
    api_client.credentials(HTTP_X_API_KEY=live_key)
    refused = _post(api_client, {"requests": MIXED[:4]})
    assert refused.status_code == 429 and refused.json()["code"] == "quota_exceeded"
    assert _post(api_client, {"requests": MIXED[:3]}).status_code == 200


def test_test_keys_use_the_sandbox_and_are_never_billed(settings, account, test_client):
    settings.REDIS_URL = None
    response = _post(test_client, {"requests": MIXED[:3]})
    assert response.status_code == 200
    first = response.json()["results"][0]
    assert first["status"] == 200 and first["body"]["source"]["provider"] == "sandbox"
    assert not UsageEvent.objects.filter(account=account, billable=True).exists()


@pytest.mark.parametrize("body, field", [
    ({}, "requests"),
    ({"requests": []}, "requests"),
    ({"requests": "x"}, "requests"),
    ({"requests": [{"endpoint": "geocode"}]}, "requests.0.id"),
    ({"requests": [{"id": "a", "endpoint": "geocode"}, {"id": "a", "endpoint": "geocode"}]}, "requests"),
    ({"requests": [{"id": str(i), "endpoint": "geocode"} for i in range(101)]}, "requests"),
    ([1, 2], "non_field_errors"),
])
def test_a_bad_envelope_is_one_400(settings, test_client, body, field):
    settings.REDIS_URL = None
    response = _post(test_client, body)
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "invalid_parameter", problem
    assert [k for k in problem["errors"] if k == field or k.startswith(field + ".")], problem


def test_malformed_json_is_a_400(settings, test_client):
    settings.REDIS_URL = None
    response = test_client.post("/v1/batch", data="{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "invalid_parameter"


def test_batch_needs_the_weather_scope(settings, api_client):
    settings.REDIS_URL = None
    response = _post(api_client, {"requests": MIXED[:1]})
    assert response.status_code == 401
