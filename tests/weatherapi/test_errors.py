"""Every error under /v1/ and /api/ is an RFC 9457 problem document with a request id."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def _assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "code", "request_id"}
    assert (body["status"], body["code"]) == (status, code)
    assert body["request_id"] == response["X-Request-ID"]
    return body


@pytest.mark.parametrize("path", ["/v1/nope", "/v1/weather/nope", "/api/nope", "/v1"])
def test_unknown_routes(client, path):
    _assert_problem(client.get(path), 404, "not_found")


def test_no_credentials(client):
    response = client.get("/v1/weather/current?lat=1&lon=1")
    _assert_problem(response, 401, "authentication_required")
    assert "WWW-Authenticate" in response


@pytest.mark.parametrize("key", ["nonsense", "wx_live_short", "wx_live_" + "a" * 40, "wx_prod_" + "a" * 40])
def test_bad_keys(client, key):
    _assert_problem(client.get("/v1/weather/current?lat=1&lon=1", HTTP_X_API_KEY=key), 401, "invalid_credentials")


def test_unknown_bearer_token(client):
    response = client.get("/v1/weather/current?lat=1&lon=1", HTTP_AUTHORIZATION="Bearer not-a-token")
    _assert_problem(response, 401, "invalid_credentials")


def test_wrong_method(test_client):
    response = test_client.post("/v1/weather/current?lat=1&lon=1")
    _assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_unhandled_exception_is_internal_error_without_details(test_client, monkeypatch):
    from forecasts import services

    def boom(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "weather_current", boom)
    response = test_client.get("/v1/weather/current?lat=1&lon=1")
    body = _assert_problem(response, 500, "internal_error")
    assert "secret internals" not in response.content.decode()
    assert body["detail"]


def test_revoked_key_is_refused_at_once(api_client, account):
    from accounts.models import ApiKey
    from accounts.services import api_key_revoke
    from tests.factories import api_key_for

    key = api_key_for(account, mode="test")
    api_client.credentials(HTTP_X_API_KEY=key)
    assert api_client.get("/v1/weather/current?lat=1&lon=1").status_code == 200  # now cached
    api_key_revoke(api_key=ApiKey.objects.get(account=account))
    _assert_problem(api_client.get("/v1/weather/current?lat=1&lon=1"), 401, "invalid_credentials")


def test_expired_key_is_refused(api_client, account):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import ApiKey
    from tests.factories import api_key_for

    key = api_key_for(account, mode="test", expires_at=timezone.now() + timedelta(hours=1))
    api_client.credentials(HTTP_X_API_KEY=key)
    assert api_client.get("/v1/weather/current?lat=1&lon=1").status_code == 200
    # Expiry is checked against the cached credential on every call.
    ApiKey.objects.filter(account=account).update(expires_at=timezone.now() - timedelta(seconds=1))
    from django.core.cache import cache

    cache.clear()
    _assert_problem(api_client.get("/v1/weather/current?lat=1&lon=1"), 401, "invalid_credentials")


def test_answers_are_json_whatever_accept_says(test_client):
    response = test_client.get("/v1/weather/current?lat=1&lon=1", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    problem = test_client.get("/v1/weather/current?lat=91&lon=1", HTTP_ACCEPT="application/xml")
    _assert_problem(problem, 400, "invalid_parameter")
