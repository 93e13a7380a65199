"""/v1/batch over real HTTP: production gunicorn (DEBUG off, Redis, PostgreSQL) in front of
the fake OpenWeather server."""

from __future__ import annotations

import os

import pytest
import requests

from tests.factories import AccountFactory, api_key_for
from tests.jobs.test_batch import MIXED
from tests.support.production import HTTPS, production_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_batch_of_mixed_items_over_http(tmp_path, fake_openweather):
    account = AccountFactory()
    key = api_key_for(account, mode="live")
    env = {"OPENWEATHER_BASE_URL": fake_openweather.url, "OPENWEATHER_API_KEY": fake_openweather.api_key,
           "CACHE_KEY_PREFIX": f"batchhttp{os.getpid()}"}
    with production_server(tmp_path, env) as server:
        response = requests.post(server.url + "/v1/batch", json={"requests": MIXED},
                                 headers={**HTTPS, "X-API-Key": key}, timeout=30)
        single = requests.get(server.url + "/v1/weather/current", params={"lat": 91, "lon": 0},
                              headers={**HTTPS, "X-API-Key": key}, timeout=10)
        mine = requests.get(server.url + "/v1/account", headers={**HTTPS, "X-API-Key": key}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    results = response.json()["results"]
    assert [(r["id"], r["status"]) for r in results] == [
        ("london", 200), ("bad-lat", 400), ("fc", 200), ("nowhere", 404), ("aq", 200), ("typo", 400),
        ("geo", 200), ("rev", 200), ("nested", 400),
    ]
    assert results[0]["body"]["location"]["name"] == "London"
    assert results[0]["body"]["source"]["provider"] == "openweather"
    bad = results[1]["body"]
    assert {k: v for k, v in bad.items() if k != "request_id"} == {
        k: v for k, v in single.json().items() if k != "request_id"}
    # Five billable items in the month's count (the single call was a 400: not counted).
    assert mine.json()["quota"]["used"] == 5
    assert fake_openweather.calls() >= 5
