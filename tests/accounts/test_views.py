"""Portal views: ownership (404 for other accounts), show-once secrets, CSRF, messages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import Account, ApiKey, OAuthClient, User
from tests.accounts.conftest import CURRENT
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

KEY_RE = re.compile(r"wx_(?:live|test)_[A-Za-z0-9]{32,64}")


def test_anonymous_is_sent_to_login(client):
    for url in ("/portal/", "/portal/keys/", "/portal/apps/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_landing_links_to_signup_and_docs(client):
    body = client.get("/").content.decode()
    assert 'href="/accounts/signup/"' in body and 'href="/api/docs/"' in body


def test_superuser_without_account_gets_one_on_first_visit():
    user = User.objects.create_superuser(email="root@example.com", password="x" * 12)
    client = Client()
    client.force_login(user)
    assert client.get("/portal/keys/").status_code == 200
    assert Account.objects.filter(owner=user).exists()


def test_key_is_shown_once(portal, verified_account):
    response = portal.post("/portal/keys/create/", {"name": "prod", "mode": "live"})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    shown = KEY_RE.findall(response.content.decode())
    assert len(shown) == 1 and shown[0].startswith("wx_live_")
    api_key = ApiKey.objects.get(account=verified_account)
    assert shown[0].startswith(api_key.prefix)
    # Never again: not on the list, not in the session.
    later = portal.get("/portal/keys/").content.decode()
    assert shown[0] not in later and api_key.prefix in later
    assert shown[0] not in str(dict(portal.session))


def test_key_create_with_expiry(portal, verified_account):
    day = (timezone.now() + timedelta(days=10)).date()
    response = portal.post("/portal/keys/create/", {"name": "", "mode": "test", "expires_on": day.isoformat()})
    assert response.status_code == 201
    assert ApiKey.objects.get(account=verified_account).expires_at.date() == day


def test_key_create_rejects_past_expiry(portal, verified_account):
    response = portal.post("/portal/keys/create/", {"mode": "test", "expires_on": "2000-01-01"})
    assert response.status_code == 400 and "Choose a day after today" in response.content.decode()
    assert not ApiKey.objects.filter(account=verified_account).exists()


def test_unverified_user_sees_clear_message_and_gets_no_live_key():
    account = AccountFactory()
    client = Client()
    client.force_login(account.owner)
    page = client.get("/portal/keys/").content.decode()
    assert "Your email address is not verified" in page
    response = client.post("/portal/keys/create/", {"name": "x", "mode": "live"})
    assert response.status_code == 403
    assert "Verify your email address before creating live credentials" in response.content.decode()
    assert not ApiKey.objects.filter(account=account).exists()
    assert client.post("/portal/keys/create/", {"name": "x", "mode": "test"}).status_code == 201


def test_revoke_needs_confirmation_and_refuses_the_key_at_once(portal, verified_account, api_client):
    api_key, full_key = services.api_key_create(account=verified_account, mode="test")
    assert api_client.get(CURRENT, HTTP_X_API_KEY=full_key).status_code == 200  # now cached
    confirm = portal.get(f"/portal/keys/{api_key.pk}/revoke/")
    assert confirm.status_code == 200 and "Revoke key" in confirm.content.decode()
    response = portal.post(f"/portal/keys/{api_key.pk}/revoke/", follow=True)
    assert "is revoked" in response.content.decode()
    refused = api_client.get(CURRENT, HTTP_X_API_KEY=full_key)
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_credentials"


def test_rotate_with_grace_period(portal, verified_account):
    old, _ = services.api_key_create(account=verified_account, mode="test", name="ci")
    assert 'name="grace_seconds"' in portal.get(f"/portal/keys/{old.pk}/rotate/").content.decode()
    response = portal.post(f"/portal/keys/{old.pk}/rotate/", {"grace_seconds": "86400"})
    assert response.status_code == 201
    new_key = KEY_RE.findall(response.content.decode())
    assert len(new_key) == 1
    old.refresh_from_db()
    assert old.status == "active" and old.revoked_at > timezone.now() + timedelta(hours=23)


def test_rotate_now_revokes_old_key(portal, verified_account):
    old, _ = services.api_key_create(account=verified_account, mode="test")
    portal.post(f"/portal/keys/{old.pk}/rotate/", {"grace_seconds": "0"})
    old.refresh_from_db()
    assert old.status == "revoked"


def test_rotate_rejects_unknown_grace(portal, verified_account):
    old, _ = services.api_key_create(account=verified_account, mode="test")
    assert portal.post(f"/portal/keys/{old.pk}/rotate/", {"grace_seconds": "999"}).status_code == 400


@pytest.mark.parametrize("method", ["get", "post"])
def test_other_accounts_keys_are_404(portal, other_account, method):
    theirs, _ = services.api_key_create(account=other_account, mode="test")
    for url in (f"/portal/keys/{theirs.pk}/revoke/", f"/portal/keys/{theirs.pk}/rotate/"):
        assert getattr(portal, method)(url, {"grace_seconds": "0"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "active" and theirs.replaced_by_id is None
    assert theirs.prefix not in portal.get("/portal/keys/").content.decode()
    assert portal.post("/portal/keys/999999/revoke/").status_code == 404


@pytest.mark.parametrize("method", ["get", "post"])
def test_other_accounts_clients_are_404(portal, other_account, method):
    theirs, _ = services.oauth_client_create(account=other_account, name="theirs", mode="test")
    for url in (f"/portal/apps/{theirs.pk}/rotate-secret/", f"/portal/apps/{theirs.pk}/delete/"):
        assert getattr(portal, method)(url).status_code == 404
    assert OAuthClient.objects.filter(pk=theirs.pk).exists()
    assert theirs.application.client_id not in portal.get("/portal/apps/").content.decode()


def test_oauth_client_create_shows_id_and_secret_once(portal, verified_account):
    response = portal.post("/portal/apps/create/", {"name": "backend", "mode": "live"})
    assert response.status_code == 201 and "no-store" in response["Cache-Control"]
    client = OAuthClient.objects.get(account=verified_account)
    body = response.content.decode()
    secret = re.search(r'id="revealed-secret"[^>]*value="([^"]+)"', body).group(1)
    assert client.application.client_id in body
    later = portal.get("/portal/apps/").content.decode()
    assert secret not in later and client.application.client_id in later


def test_oauth_client_rotate_secret_and_delete(portal, verified_account):
    client, old_secret = services.oauth_client_create(account=verified_account, name="svc", mode="test")
    assert portal.get(f"/portal/apps/{client.pk}/rotate-secret/").status_code == 200
    response = portal.post(f"/portal/apps/{client.pk}/rotate-secret/")
    body = response.content.decode()
    new_secret = re.search(r'id="revealed-secret"[^>]*value="([^"]+)"', body).group(1)
    assert new_secret != old_secret
    assert portal.get(f"/portal/apps/{client.pk}/delete/").status_code == 200
    portal.post(f"/portal/apps/{client.pk}/delete/")
    assert not OAuthClient.objects.filter(pk=client.pk).exists()


def test_forms_require_csrf(verified_account):
    client = Client(enforce_csrf_checks=True)
    client.force_login(verified_account.owner)
    assert client.post("/portal/keys/create/", {"mode": "test"}).status_code == 403
    page = client.get("/portal/keys/").content.decode()
    assert 'name="csrfmiddlewaretoken"' in page


def test_labels_are_bound_to_inputs(portal):
    for url in ("/portal/keys/", "/portal/apps/"):
        body = portal.get(url).content.decode()
        for input_id in re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', body):
            if input_id.startswith("revealed-"):
                continue
            assert f'for="{input_id}"' in body, (url, input_id)
