"""Hardening by default: deploy checks, headers in production mode, hostile input never a 500."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.factories import AccountFactory, api_key_for
from tests.support.servers import GunicornServer, current_database_url

ROOT = Path(__file__).resolve().parents[2]


def _production_env() -> dict[str, str]:
    return {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "api.example.com,127.0.0.1",
        "METRICS_TOKEN": secrets.token_urlsafe(20),
    }


def test_check_deploy_is_clean_with_production_environment():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(_production_env())
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_production_headers_cookies_and_banner(tmp_path):
    env = {**_production_env(), "DATABASE_URL": current_database_url()}
    with GunicornServer(env, workers=1, threads=4, log_path=tmp_path / "g.log") as server:
        https = {"X-Forwarded-Proto": "https", "Host": "api.example.com"}
        page = requests.get(server.url + "/accounts/login/", headers=https, timeout=10)
        assert page.status_code == 200
        assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        assert page.headers["X-Frame-Options"] == "DENY"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]
        server_banner = page.headers.get("Server", "")
        assert not any(ch.isdigit() for ch in server_banner), server_banner
        cookie = page.headers.get("Set-Cookie", "")
        assert "csrftoken" in cookie and "Secure" in cookie and "HttpOnly" in cookie
        # Plain HTTP is redirected to HTTPS, except the probes the load balancer uses.
        plain = requests.get(server.url + "/", headers={"Host": "api.example.com"}, allow_redirects=False, timeout=10)
        assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")
        assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
        # An unknown Host is refused, never served.
        assert requests.get(server.url + "/", headers={"Host": "evil.example", **{"X-Forwarded-Proto": "https"}}, timeout=10).status_code == 400


HOSTILE = [
    "/v1/weather/current?q=" + "a" * 3000,
    "/v1/weather/current?lat=" + "9" * 400 + "&lon=1",
    "/v1/weather/current?lat=-1e309&lon=1",
    "/v1/weather/current?lat=NaN&lon=NaN",
    "/v1/weather/current?lat=1&lon=1&lat=2",
    "/v1/weather/current?q=%00%00",
    "/v1/weather/current?q=%ED%A0%80",  # a lone surrogate, invalid UTF-8
    "/v1/weather/current?q=%F0%9F%8C%A7%EF%B8%8F%E2%80%8B",
    "/v1/weather/current?zip=%27%3B--,US",
    "/v1/weather/forecast?lat=1&lon=1&cnt=99999999999999999999",
    "/v1/geocode?q=London&limit=-5",
    "/v1/geocode/reverse?lat=1&lon=1&limit=1e9",
    "/v1/air-quality?lat=%20&lon=1",
    "/v1/account/usage?start=2026-13-45&end=yesterday",
    "/v1/account/usage?start=2026-02-30",
    "/v1/account/usage?end=99999-01-01",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", HOSTILE)
def test_hostile_input_is_a_4xx_problem_never_a_500(client, path):
    key = api_key_for(AccountFactory(), mode="test")
    response = client.get(path, HTTP_X_API_KEY=key)
    assert 400 <= response.status_code < 500, (path, response.status_code, response.content[:200])
    assert response["Content-Type"].startswith("application/problem+json")


@pytest.mark.django_db
def test_oversized_body_on_the_token_endpoint_is_a_4xx(client):
    response = client.post("/o/token/", data="x=" + "a" * 200_000, content_type="application/x-www-form-urlencoded")
    assert 400 <= response.status_code < 500
