from __future__ import annotations

import pytest


def test_healthz_touches_nothing(client):
    # No django_db mark: pytest-django fails the test on any database access.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_each_dependency(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["checks"]["database"]["status"] == "up"
    assert "redis" in body["checks"]


@pytest.mark.django_db
def test_readyz_stays_ready_with_one_store_down(client, settings, monkeypatch):
    from weatherapi import health

    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(health, "check_redis", lambda: {"status": "down", "error": "ConnectionError"})
    assert client.get("/readyz").status_code == 200
    monkeypatch.setattr(health, "check_database", lambda: {"status": "down", "error": "OperationalError"})
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_metrics_need_the_token_when_set(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert response.status_code == 200
    assert b"django_http_requests" in response.content or b"python_info" in response.content


def test_metrics_closed_in_production_without_token(client, settings):
    settings.METRICS_TOKEN = None
    settings.DEBUG = False
    assert client.get("/metrics").status_code == 403
