"""The token endpoint (/o/token/): client credentials only, RFC 6749 errors, and a real
OAuth2 client library (requests-oauthlib) against a live server."""

from __future__ import annotations

import base64
from io import StringIO

import pytest
import requests
from django.core.management import call_command
from oauth2_provider.models import get_access_token_model, get_application_model
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

from tests.accounts.conftest import CURRENT
from tests.factories import AccountFactory, oauth_client_for


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.mark.django_db
def test_token_with_basic_auth_and_form_fields(client):
    oauth_client, secret = oauth_client_for(AccountFactory(), mode="test")
    client_id = oauth_client.application.client_id
    basic = client.post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=_basic(client_id, secret))
    assert basic.status_code == 200, basic.content
    body = basic.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert set(body["scope"].split()) == {"weather:read", "account:read", "account:write"}
    form = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": "weather:read"},
    )
    assert form.status_code == 200 and form.json()["scope"] == "weather:read"


@pytest.mark.django_db
def test_token_errors_keep_rfc6749_shape(client):
    oauth_client, secret = oauth_client_for(AccountFactory(), mode="test")
    client_id = oauth_client.application.client_id
    wrong = client.post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=_basic(client_id, "nope"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    unknown = client.post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=_basic("ghost", "x"))
    assert unknown.json()["error"] == "invalid_client"
    scope = client.post(
        "/o/token/", {"grant_type": "client_credentials", "scope": "admin"}, HTTP_AUTHORIZATION=_basic(client_id, secret)
    )
    assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"
    grant = client.post("/o/token/", {"grant_type": "password", "username": "a", "password": "b"},
                        HTTP_AUTHORIZATION=_basic(client_id, secret))
    assert grant.status_code in (400, 401) and grant.json()["error"] in {"unauthorized_client", "unsupported_grant_type", "invalid_grant"}
    assert "access_token" not in grant.json()


@pytest.mark.django_db
def test_only_portal_created_clients_get_tokens(client):
    # A DOT application made behind the services' back (no OAuthClient row) is refused.
    application_model = get_application_model()
    stray = application_model(
        name="stray", client_type=application_model.CLIENT_CONFIDENTIAL,
        authorization_grant_type=application_model.GRANT_CLIENT_CREDENTIALS,
        client_secret="stray-secret-123", hash_client_secret=True,
    )
    stray.save()
    response = client.post("/o/token/", {"grant_type": "client_credentials"},
                           HTTP_AUTHORIZATION=_basic(stray.client_id, "stray-secret-123"))
    assert response.status_code in (400, 401) and "error" in response.json()


@pytest.mark.django_db
def test_cleartokens_removes_expired_tokens():
    from datetime import timedelta

    from django.utils import timezone

    oauth_client, _ = oauth_client_for(AccountFactory(), mode="test")
    model = get_access_token_model()
    model.objects.create(application=oauth_client.application, token="old", scope="weather:read",
                         expires=timezone.now() - timedelta(days=2))
    model.objects.create(application=oauth_client.application, token="fresh", scope="weather:read",
                         expires=timezone.now() + timedelta(hours=1))
    call_command("cleartokens", stdout=StringIO())
    assert list(model.objects.values_list("token", flat=True)) == ["fresh"]


@pytest.mark.django_db(transaction=True)
def test_requests_oauthlib_client_credentials_flow(live_server, monkeypatch):
    # oauthlib refuses plain http unless told; the live server has no TLS.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    oauth_client, secret = oauth_client_for(AccountFactory(), mode="test")
    client_id = oauth_client.application.client_id
    session = OAuth2Session(client=BackendApplicationClient(client_id=client_id), scope=["weather:read"])
    token = session.fetch_token(
        token_url=f"{live_server.url}/o/token/", client_id=client_id, client_secret=secret, scope=["weather:read"]
    )
    assert token["token_type"] == "Bearer" and token["scope"] == ["weather:read"]
    assert 3500 <= token["expires_in"] <= 3600
    response = session.get(f"{live_server.url}{CURRENT}", timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["source"]["provider"] == "sandbox"
    # The token lacks account:read.
    denied = session.get(f"{live_server.url}/v1/account", timeout=10)
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    unknown = requests.get(f"{live_server.url}{CURRENT}", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert unknown.status_code == 401 and unknown.json()["code"] == "invalid_credentials"
