"""Structured logs: one JSON access line per request, request ids everywhere, no secrets.

Output is captured through the real ``settings.LOGGING`` (its filters and JSON formatter),
with only the handler's stream swapped for a buffer; every line must parse as JSON.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import requests
from django.conf import settings as django_settings
from django.test import RequestFactory

from tests.factories import AccountFactory, api_key_for
from tests.support.logs import app_logs_to
from weatherapi.logging import REDACTED, redact

ACCESS_FIELDS = {
    "time", "level", "logger", "message", "request_id", "method", "path", "route", "view",
    "status", "latency_ms", "account_id", "credential_prefix", "cache", "error_code",
}


class Captured:
    def __init__(self, buffer: io.StringIO) -> None:
        self.buffer = buffer

    @property
    def text(self) -> str:
        return self.buffer.getvalue()

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def access(self) -> list[dict]:
        return [line for line in self.lines() if line["logger"] == "weatherapi.access"]


@pytest.fixture
def logs() -> Iterator[Captured]:
    """The app's LOGGING with the stdout handler writing to a buffer, JSON format, INFO."""
    buffer = io.StringIO()
    with app_logs_to(buffer):
        yield Captured(buffer)


def test_redact_keeps_the_display_prefix_only():
    key = "wx_live_" + "AbCdEfGh" + "x" * 32
    assert redact(f"key={key}") == f"key=wx_live_AbCdEfGh{REDACTED}"
    assert redact("wx_test_AbCdEfGh") == "wx_test_AbCdEfGh"  # a display prefix alone is fine
    assert redact("Authorization: Bearer abc.DEF-123_~+/=") == f"Authorization: Bearer {REDACTED}"
    assert redact("{'Authorization': 'bearer tok3n'}") == f"{{'Authorization': 'bearer {REDACTED}'}}"
    assert redact("GET /data/2.5/weather?lat=1&appid=0123abcd&units=metric") == (
        f"GET /data/2.5/weather?lat=1&appid={REDACTED}&units=metric"
    )
    assert redact("appid%3Dsecret") == f"appid%3D{REDACTED}"
    # Idempotent: the handler's filter and the formatter both redact.
    once = redact(f"Bearer t0k {key} appid=zz")
    assert redact(once) == once
    # A key used as the bearer token or as appid goes whole, in any letter case.
    assert redact(f"BEARER%20{key}") == f"BEARER%20{REDACTED}"
    assert redact(f"/x?APPID={key}&q=1") == f"/x?APPID={REDACTED}&q=1"
    assert redact(f"Bearer {key}, then {key}") == f"Bearer {REDACTED}, then wx_live_AbCdEfGh{REDACTED}"


def test_redact_removes_webhook_signing_secrets_whole():
    secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD2sQ8pM2gNvQ="
    assert redact(f"secret={secret}, next") == f"secret=whsec_{REDACTED}, next"
    assert redact(redact(secret)) == f"whsec_{REDACTED}"


def test_filter_and_formatter_redact_messages_args_extras_and_tracebacks(logs):
    key = api_key_like = "wx_test_" + "Q" * 40
    log = logging.getLogger("weatherapi.test")
    log.warning("calling with %s and %s", key, "Bearer very-secret-token", extra={"url": f"/x?appid={key}"})
    try:
        raise RuntimeError(f"GET http://upstream/data?appid=provider-secret&q=x with {api_key_like}")
    except RuntimeError:
        log.exception("upstream failed")
    text = logs.text
    assert key not in text
    assert "very-secret-token" not in text
    assert "provider-secret" not in text
    lines = logs.lines()
    assert lines[0]["message"] == f"calling with wx_test_QQQQQQQQ{REDACTED} and Bearer {REDACTED}"
    assert lines[0]["url"] == f"/x?appid={REDACTED}"
    assert "appid=[redacted]" in lines[1]["exc_info"]


@pytest.mark.django_db
def test_one_access_line_with_the_request_fields(logs, client, upstream):
    # A live key: test keys get synthetic data, which is never cached.
    key = api_key_for(AccountFactory(), mode="live")
    response = client.get(
        "/v1/weather/current?lat=51.5085&lon=-0.1257&units=metric",
        HTTP_X_API_KEY=key, HTTP_X_REQUEST_ID="req-logging-0001",
    )
    assert response.status_code == 200
    access = logs.access()
    assert len(access) == 1, logs.text
    line = access[0]
    assert set(line) == ACCESS_FIELDS, set(line) ^ ACCESS_FIELDS
    assert line["request_id"] == "req-logging-0001"
    assert line["method"] == "GET"
    assert line["path"] == "/v1/weather/current"  # no query string: it holds the place
    assert line["route"] == "v1/weather/current"
    assert line["view"] == "weather-current"
    assert line["status"] == 200
    assert isinstance(line["latency_ms"], (int, float)) and line["latency_ms"] >= 0
    assert line["account_id"] is not None
    assert line["credential_prefix"] == key[:16]
    assert line["cache"] == "miss"
    assert line["error_code"] is None
    assert line["level"] == "INFO"
    # Every line the request wrote carries its id.
    for other in logs.lines():
        assert other["request_id"] == "req-logging-0001", other
    assert key not in logs.text

    client.get("/v1/weather/current?lat=51.5085&lon=-0.1257&units=metric", HTTP_X_API_KEY=key)
    assert logs.access()[-1]["cache"] == "hit"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_API_KEY": "wx_live_" + "Z" * 40},  # well-formed, unknown
        {"HTTP_X_API_KEY": "wx_test_" + "Y" * 40 + "!"},  # malformed
        {"HTTP_AUTHORIZATION": "Bearer not-a-real-token-0123456789"},
    ],
    ids=["unknown-key", "malformed-key", "bearer"],
)
def test_rejected_credentials_are_one_line_and_never_logged(logs, client, headers):
    secret = next(iter(headers.values())).removeprefix("Bearer ")
    response = client.get(
        f"/v1/weather/current?q=London&appid={secret}&api_key={secret}", HTTP_X_REQUEST_ID="req-logging-0401",
        **headers,
    )
    assert response.status_code == 401
    lines = logs.lines()
    # The access line only: django.request's "Unauthorized: ..." for an API 4xx is dropped.
    assert [line["logger"] for line in lines] == ["weatherapi.access"], logs.text
    line = lines[0]
    assert line["status"] == 401
    assert line["error_code"] == "invalid_credentials"
    assert line["request_id"] == "req-logging-0401"
    assert line["account_id"] is None and line["credential_prefix"] is None
    assert secret not in logs.text
    assert "London" not in logs.text


@pytest.mark.django_db
def test_a_valid_key_in_the_query_string_is_not_logged(logs, client):
    key = api_key_for(AccountFactory(), mode="test")
    client.get(f"/v1/nope?key={key}&appid={key}", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert logs.access()[0]["status"] == 404
    assert key not in logs.text


@pytest.mark.django_db
def test_django_request_lines_outside_the_api_carry_the_request_id(logs, client):
    # django.request logs the 404 after RequestIdMiddleware has reset the context variable.
    response = client.get("/no-such-page", HTTP_X_REQUEST_ID="req-logging-0404")
    assert response.status_code == 404
    by_logger = {line["logger"]: line for line in logs.lines()}
    assert by_logger["weatherapi.access"]["request_id"] == "req-logging-0404"
    assert by_logger["django.request"]["request_id"] == "req-logging-0404"
    assert by_logger["django.request"]["status_code"] == 404
    assert "request" not in by_logger["django.request"]  # its repr holds the query string


def test_a_5xx_logged_by_django_after_the_middleware_has_the_id(logs):
    from django.http import HttpResponse
    from django.utils.log import log_response

    from weatherapi.context import context_attach

    request = RequestFactory().get("/v1/weather/current?q=Paris&appid=wx_live_AAAAAAAAAAAAAAAAAAAAAAAA")
    context_attach(request, "req-logging-0500")  # what RequestIdMiddleware does
    log_response("Internal Server Error: %s", request.path, response=HttpResponse(status=500), request=request)
    (line,) = logs.lines()
    assert line["logger"] == "django.request"
    assert line["level"] == "ERROR"
    assert line["request_id"] == "req-logging-0500"
    assert "Paris" not in logs.text and "AAAAAAAAAAAAAAAAAAAAAAAA" not in logs.text


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_gunicorn_and_app_lines_are_json_and_free_of_secrets(tmp_path, upstream):
    """End to end through gunicorn: its own lines and the app's, all JSON, no key or token."""
    from tests.support.servers import GunicornServer, current_database_url

    key = api_key_for(AccountFactory(), mode="live")
    bearer = "Bearer zzTopSecretBearerToken0123456789"
    env = {
        "DATABASE_URL": current_database_url(),
        "OPENWEATHER_BASE_URL": upstream.url,
        "OPENWEATHER_API_KEY": upstream.api_key,
        "DJANGO_DEBUG": "1",
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
    }
    if django_settings.REDIS_URL:
        env["REDIS_URL"] = django_settings.REDIS_URL
        env["CACHE_KEY_PREFIX"] = f"logtest{id(env)}"
        # Its own usage stream: the usage-worker tests count the shared one.
        env["USAGE_STREAM_KEY"] = f"wx:test-logging:{id(env)}"
    log_path = tmp_path / "gunicorn.log"
    ids = []
    with GunicornServer(env, workers=2, log_path=log_path) as server:
        for i, headers in enumerate(
            [
                {"X-API-Key": key},
                {"X-API-Key": key[:-1] + ("A" if key[-1] != "A" else "B")},  # invalid
                {"Authorization": bearer},
            ]
        ):
            rid = f"req-gunicorn-{i:04d}"
            ids.append(rid)
            r = requests.get(
                f"{server.url}/v1/weather/current?lat=48.85&lon=2.35&appid={key}",
                headers={**headers, "X-Request-ID": rid}, timeout=10,
            )
            assert r.status_code in (200, 401)
    if "USAGE_STREAM_KEY" in env:
        import redis

        redis.Redis.from_url(django_settings.REDIS_URL).delete(env["USAGE_STREAM_KEY"])
    text = log_path.read_text()
    assert key not in text
    assert "zzTopSecretBearerToken0123456789" not in text
    assert f"appid={upstream.api_key}" not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert any(line["logger"] == "gunicorn.error" for line in lines)  # boot lines, as JSON
    access = [line for line in lines if line["logger"] == "weatherapi.access"]
    assert sorted(line["request_id"] for line in access if line["path"].startswith("/v1/")) == ids
    api_lines = sorted((line for line in access if line["path"].startswith("/v1/")), key=lambda x: x["request_id"])
    assert [line["status"] for line in api_lines] == [200, 401, 401]
    assert api_lines[0]["credential_prefix"] == key[:16]
    assert not [line for line in lines if line["logger"] == "gunicorn.access"]  # one line per request


@pytest.mark.slow
def test_gunicorn_access_log_when_asked_for(tmp_path):
    """GUNICORN_ACCESS_LOG=- turns gunicorn's own JSON access line on (it is off by default:
    the Django line above is the one per request)."""
    from tests.support.servers import GunicornServer

    log_path = tmp_path / "gunicorn.log"
    with GunicornServer({"GUNICORN_ACCESS_LOG": "-"}, workers=1, threads=2, log_path=log_path) as server:
        assert requests.get(server.url + "/healthz", headers={"X-Request-ID": "req-access-on"}, timeout=10).ok
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    access = [(a["path"], a["status"]) for a in lines
              if a["logger"] == "gunicorn.access" and a["request_id"] == "req-access-on"]
    assert access == [("/healthz", 200)]


# --- Issue 19, item 8: allauth's one-time link keys -------------------------------------

RESET_KEY = "cb1x2a-0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c"
CONFIRM_KEY = "MQ:1tAbCd:xYz-Ab_12Cd34Ef56"


def test_redact_takes_the_key_out_of_reset_and_confirmation_links():
    assert redact(f"GET /accounts/password/reset/key/3f-{RESET_KEY}/ 302") == (
        f"GET /accounts/password/reset/key/3f-{REDACTED}/ 302"
    )
    assert redact(f'{{"path": "/accounts/confirm-email/{CONFIRM_KEY}/"}}') == (
        f'{{"path": "/accounts/confirm-email/{REDACTED}/"}}'
    )
    assert redact("/accounts/confirm-email/MQ%3A1tAb%3Axyz/") == f"/accounts/confirm-email/{REDACTED}/"
    # Full links in a message (the email body, a Referer) and any letter case.
    assert RESET_KEY not in redact(f"https://api.example.com/ACCOUNTS/PASSWORD/RESET/KEY/3F-{RESET_KEY}/")
    # No secret in these: left alone.
    for plain in ("/accounts/password/reset/key/3f-set-password/", "/accounts/confirm-email/",
                  "/accounts/password/reset/key/done/"):
        assert redact(plain) == plain
    once = redact(f"/accounts/password/reset/key/3f-{RESET_KEY}/ /accounts/confirm-email/{CONFIRM_KEY}/")
    assert redact(once) == once


@pytest.mark.django_db
def test_reset_and_confirmation_keys_never_reach_the_access_log(logs, client):
    client.get(f"/accounts/password/reset/key/3f-{RESET_KEY}/")
    client.get(f"/accounts/confirm-email/{CONFIRM_KEY}/")
    paths = [line["path"] for line in logs.access()]
    assert f"/accounts/password/reset/key/3f-{REDACTED}/" in paths
    assert f"/accounts/confirm-email/{REDACTED}/" in paths
    assert RESET_KEY not in logs.text and CONFIRM_KEY not in logs.text


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_production_access_log_has_no_reset_or_confirmation_key(tmp_path):
    """A real reset link (allauth's own key for a real user) through gunicorn with the
    production settings: the access line keeps the path's shape, never the key."""
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str

    from tests.support.production import HTTPS, production_server

    user = AccountFactory().owner
    reset = f"{user_pk_to_url_str(user)}-{default_token_generator.make_token(user)}"
    with production_server(tmp_path, {"LOG_LEVEL": "INFO"}) as server:
        first = requests.get(f"{server.url}/accounts/password/reset/key/{reset}/", headers=HTTPS,
                             allow_redirects=False, timeout=10)
        assert first.status_code in (200, 302)
        confirm = requests.get(f"{server.url}/accounts/confirm-email/{CONFIRM_KEY}/", headers=HTTPS, timeout=10)
        assert confirm.status_code in (200, 404)
    text = (tmp_path / "gunicorn.log").read_text()
    secret = reset.split("-", 1)[1]
    assert secret not in text and CONFIRM_KEY not in text
    access = [json.loads(line) for line in text.splitlines() if '"weatherapi.access"' in line]
    assert f"/accounts/password/reset/key/{reset.split('-', 1)[0]}-{REDACTED}/" in [a["path"] for a in access]
