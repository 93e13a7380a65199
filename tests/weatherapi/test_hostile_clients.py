"""Hostile clients against what production runs: gunicorn, ``DJANGO_DEBUG=0``, PostgreSQL
and Redis (issue 19's request-path items). Each test failed before its fix."""

from __future__ import annotations

import secrets
import string
import time
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from accounts import services
from accounts.models import ApiKey
from billing.models import UsageEvent
from tests.billing.conftest import make_plan, subscribe
from tests.factories import AccountFactory, api_key_for
from tests.support.production import HTTPS, production_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SANDBOX = "/v1/weather/current?lat=10&lon=20"


@pytest.fixture(autouse=True)
def _needs_redis() -> None:
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL): production caches credentials there")


def _get(server, path: str, **headers: str) -> requests.Response:  # type: ignore[no-untyped-def]
    return requests.get(server.url + path, headers={**HTTPS, **headers}, timeout=10)


def test_a_key_rotated_with_a_grace_period_is_refused_when_the_grace_ends(tmp_path):
    account = AccountFactory()
    old = api_key_for(account, mode="test")
    with production_server(tmp_path) as server:
        assert _get(server, SANDBOX, **{"X-API-Key": old}).status_code == 200  # cached now
        services.api_key_rotate(api_key=ApiKey.objects.get(account=account), grace_seconds=2)
        assert _get(server, SANDBOX, **{"X-API-Key": old}).status_code == 200  # within the grace
        time.sleep(2.5)
        for _ in range(4):  # both workers, each with its own copy of the credential
            refused = _get(server, SANDBOX, **{"X-API-Key": old})
            assert refused.status_code == 401, refused.text
            assert refused.json()["code"] == "invalid_credentials"


def test_too_many_query_parameters_are_a_400_counted_against_the_limit(tmp_path):
    account = AccountFactory()
    subscribe(account, make_plan("tight", rpm=3))
    key = api_key_for(account, mode="test")
    crowded = SANDBOX + "".join(f"&p{i}=1" for i in range(201))
    with production_server(tmp_path) as server:
        answers = [_get(server, crowded, **{"X-API-Key": key}) for _ in range(4)]
        assert [a.status_code for a in answers] == [400, 400, 400, 429]
        assert answers[0].json()["code"] == "invalid_parameter"
        assert answers[0].headers["Content-Type"].startswith("application/problem+json")
        assert answers[0].headers["RateLimit"].startswith('"minute";r=2;')
        for public in ("/api/schema/", "/api/docs/", "/api/redoc/"):
            answer = _get(server, public + "?" + "&".join(f"p{i}=1" for i in range(201)))
            assert answer.status_code == 400, (public, answer.status_code)
        assert "Traceback" not in (tmp_path / "gunicorn.log").read_text()


def test_options_and_head_are_never_billed_nor_counted(tmp_path, fake_openweather):
    account = AccountFactory()
    subscribe(account, make_plan("capped", included=5))
    key = api_key_for(account, mode="live")
    env = {"OPENWEATHER_BASE_URL": fake_openweather.url, "OPENWEATHER_API_KEY": fake_openweather.api_key}
    url = "/v1/weather/current?lat=51.5&lon=-0.12"
    with production_server(tmp_path, env) as server:
        assert _get(server, url, **{"X-API-Key": key}).status_code == 200
        head = requests.head(server.url + url, headers={**HTTPS, "X-API-Key": key}, timeout=10)
        options = requests.options(server.url + url, headers={**HTTPS, "X-API-Key": key}, timeout=10)
        assert head.status_code == 200
        assert options.status_code == 204 and options.content == b""
        assert "GET" in options.headers["Allow"]
    from django_redis import get_redis_connection

    from billing.throttles import Windows

    month_key = f"{{wx}}:rl:a{account.pk}:q:{Windows.at(time.time()).month_id}"
    assert int(get_redis_connection("default").get(month_key) or 0) == 1  # the GET only
    call_command("usage_worker", "--once")
    events = UsageEvent.objects.filter(account=account, endpoint="weather.current")
    assert events.count() == 3
    assert events.filter(billable=True).count() == 1


def test_unknown_credentials_leave_no_lasting_state(tmp_path):
    from django_redis import get_redis_connection

    redis = get_redis_connection("default")
    body = string.ascii_letters + string.digits
    with production_server(tmp_path) as server:
        before = {k for k in redis.scan_iter("*") if (redis.ttl(k) or 0) == -1 or (redis.ttl(k) or 0) > 60}
        for _ in range(30):
            guess = "wx_live_" + "".join(secrets.choice(body) for _ in range(40))
            assert _get(server, SANDBOX, **{"X-API-Key": guess}).status_code == 401
            token = "".join(secrets.choice(body) for _ in range(200))
            assert _get(server, SANDBOX, Authorization=f"Bearer {token}").status_code == 401
        lasting = {k for k in redis.scan_iter("*") if (redis.ttl(k) or 0) == -1 or (redis.ttl(k) or 0) > 60}
    assert lasting - before == set()


def test_a_far_future_usage_period_is_answered_not_a_500(tmp_path):
    key = api_key_for(AccountFactory(), mode="test")
    with production_server(tmp_path) as server:
        answer = _get(server, "/v1/account/usage?end=9999-12-31", **{"X-API-Key": key})
        assert answer.status_code == 200, answer.text
        assert answer.json()["days"][-1]["date"] == "9999-12-31"


def test_a_401_challenges_with_the_scheme_that_was_presented(tmp_path):
    with production_server(tmp_path) as server:
        bearer = _get(server, SANDBOX, Authorization="Bearer not-a-token")
        key = _get(server, SANDBOX, **{"X-API-Key": "wx_live_" + "a" * 40})
        nothing = _get(server, SANDBOX)
    assert bearer.status_code == key.status_code == nothing.status_code == 401
    assert bearer.headers["WWW-Authenticate"].startswith("Bearer ")
    assert key.headers["WWW-Authenticate"].startswith("ApiKey ")
    assert nothing.headers["WWW-Authenticate"].startswith("ApiKey ")


def test_a_key_past_its_expiry_is_refused_by_every_worker(tmp_path):
    account = AccountFactory()
    with production_server(tmp_path) as server:
        _, key = services.api_key_create(account=account, mode="test", expires_at=timezone.now() + timedelta(seconds=2))
        assert _get(server, SANDBOX, **{"X-API-Key": key}).status_code == 200
        time.sleep(2.5)
        assert all(_get(server, SANDBOX, **{"X-API-Key": key}).status_code == 401 for _ in range(4))
