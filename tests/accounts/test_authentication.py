"""X-API-Key and Bearer authentication on /v1/: scopes, revocation, suspension, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from accounts import services
from tests.accounts.conftest import CURRENT
from tests.factories import oauth_client_for

pytestmark = pytest.mark.django_db


def _token(client, *, scope: str, expires_in: int = 3600) -> str:
    token = get_access_token_model().objects.create(
        application=client.application,
        token=f"tok-{scope.replace(' ', '-').replace(':', '')}-{expires_in}-{client.pk}",
        expires=timezone.now() + timedelta(seconds=expires_in),
        scope=scope,
    )
    return token.token


def _problem(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == code


def test_test_key_is_answered_by_sandbox(api_client, test_key):
    response = api_client.get(CURRENT, HTTP_X_API_KEY=test_key)
    assert response.status_code == 200
    assert response.json()["source"]["provider"] == "sandbox"


def test_missing_credentials(api_client):
    _problem(api_client.get(CURRENT), 401, "authentication_required")


def test_unknown_and_malformed_keys(api_client):
    _problem(api_client.get(CURRENT, HTTP_X_API_KEY="wx_test_" + "a" * 40), 401, "invalid_credentials")
    _problem(api_client.get(CURRENT, HTTP_X_API_KEY="nope"), 401, "invalid_credentials")


def test_revoked_key_is_refused_at_once(api_client, account):
    api_key, full_key = services.api_key_create(account=account, mode="test")
    assert api_client.get(CURRENT, HTTP_X_API_KEY=full_key).status_code == 200
    services.api_key_revoke(api_key=api_key)
    _problem(api_client.get(CURRENT, HTTP_X_API_KEY=full_key), 401, "invalid_credentials")


def test_suspension_refuses_keys_and_tokens_at_once(api_client, account):
    _, full_key = services.api_key_create(account=account, mode="test")
    client, _ = oauth_client_for(account, mode="test")
    token = _token(client, scope="weather:read")
    assert api_client.get(CURRENT, HTTP_X_API_KEY=full_key).status_code == 200
    assert api_client.get(CURRENT, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    services.account_suspend(account=account, actor=None, reason="test")
    _problem(api_client.get(CURRENT, HTTP_X_API_KEY=full_key), 403, "permission_denied")
    _problem(api_client.get(CURRENT, HTTP_AUTHORIZATION=f"Bearer {token}"), 403, "permission_denied")
    services.account_reactivate(account=account, actor=None)
    assert api_client.get(CURRENT, HTTP_X_API_KEY=full_key).status_code == 200


def test_bearer_scope_checks(api_client, account):
    client, _ = oauth_client_for(account, mode="test")
    weather_only = _token(client, scope="weather:read")
    account_only = _token(client, scope="account:read")
    assert api_client.get(CURRENT, HTTP_AUTHORIZATION=f"Bearer {weather_only}").status_code == 200
    _problem(api_client.get(CURRENT, HTTP_AUTHORIZATION=f"Bearer {account_only}"), 403, "permission_denied")
    _problem(api_client.get("/v1/account", HTTP_AUTHORIZATION=f"Bearer {weather_only}"), 403, "permission_denied")
    assert api_client.get("/v1/account", HTTP_AUTHORIZATION=f"Bearer {account_only}").status_code == 200


def test_unknown_and_expired_tokens(api_client, account):
    client, _ = oauth_client_for(account, mode="test")
    expired = _token(client, scope="weather:read", expires_in=-10)
    _problem(api_client.get(CURRENT, HTTP_AUTHORIZATION="Bearer not-a-token"), 401, "invalid_credentials")
    _problem(api_client.get(CURRENT, HTTP_AUTHORIZATION=f"Bearer {expired}"), 401, "invalid_credentials")


def test_deleting_client_kills_its_tokens_at_once(api_client, account):
    client, _ = oauth_client_for(account, mode="test")
    token = _token(client, scope="weather:read")
    assert api_client.get(CURRENT, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    services.oauth_client_delete(client=client)
    _problem(api_client.get(CURRENT, HTTP_AUTHORIZATION=f"Bearer {token}"), 401, "invalid_credentials")
