"""Portal views: ownership (404 for other accounts), show-once secrets (Post/Redirect/Get,
one-time submissions), CSRF, messages."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.utils import timezone

from accounts import reveal, services
from accounts.models import Account, ApiKey, AuditEvent, OAuthClient, User
from tests.accounts.conftest import CURRENT, send_form, submission
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

KEY_RE = re.compile(r"wx_(?:live|test)_[A-Za-z0-9]{32,64}")
SECRET_RE = re.compile(r'id="revealed-secret"[^>]*value="([^"]+)"')
KEYS = ("/portal/keys/", "/portal/keys/create/")
APPS = ("/portal/apps/", "/portal/apps/create/")


def _shown_token(response) -> str:
    """The token of a 303 to the list page that shows a secret once."""
    assert response.status_code == 303, response.status_code
    return parse_qs(urlsplit(response["Location"]).query)["shown"][0]


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
    posted = send_form(portal, *KEYS, {"name": "prod", "mode": "live"})
    # Post/Redirect/Get: the POST's answer carries no key, only the way to the page that shows it.
    assert posted.status_code == 303 and posted["Location"].startswith("/portal/keys/?shown=")
    assert not KEY_RE.findall(posted.content.decode())
    response = portal.get(posted["Location"])
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    shown = KEY_RE.findall(response.content.decode())
    assert len(shown) == 1 and shown[0].startswith("wx_live_")
    api_key = ApiKey.objects.get(account=verified_account)
    assert shown[0].startswith(api_key.prefix)
    # Never again: not on the list, not in the session.
    later = portal.get("/portal/keys/").content.decode()
    assert shown[0] not in later and api_key.prefix in later
    assert shown[0] not in str(dict(portal.session))


def test_reloading_the_page_that_showed_the_key_shows_nothing_and_creates_nothing(portal, verified_account):
    posted = send_form(portal, *KEYS, {"name": "prod", "mode": "test"})
    full_key = KEY_RE.findall(portal.get(posted["Location"]).content.decode())[0]
    reload = portal.get(posted["Location"])
    assert reload.status_code == 200 and "no-store" in reload["Cache-Control"]
    body = reload.content.decode()
    assert not KEY_RE.findall(body) and 'id="revealed-secret"' not in body
    (api_key,) = ApiKey.objects.filter(account=verified_account)  # one key, listed by its prefix
    assert full_key.startswith(api_key.prefix) and api_key.prefix in body
    assert full_key not in str(dict(portal.session))


def test_the_secret_waits_in_the_session_only_until_its_page_is_shown(portal, verified_account):
    posted = send_form(portal, *KEYS, {"mode": "test"})
    waiting = str(dict(portal.session))
    assert KEY_RE.search(waiting)
    portal.get(posted["Location"])
    assert not KEY_RE.search(str(dict(portal.session)))


def test_a_resubmitted_create_form_makes_no_second_key(portal, verified_account):
    token = submission(portal, KEYS[0])
    data = {"name": "prod", "mode": "test", "submission": token}
    first = portal.post(KEYS[1], data)
    # Sent again before its page was shown (a double click): the browser follows the
    # answer of the last request, so it is sent to the first one's secret.
    again = portal.post(KEYS[1], data)
    assert _shown_token(first) == _shown_token(again) == token
    assert ApiKey.objects.filter(account=verified_account).count() == 1
    shown = KEY_RE.findall(portal.get(again["Location"]).content.decode())
    assert len(shown) == 1 and shown[0].startswith(ApiKey.objects.get(account=verified_account).prefix)
    # Sent again after that (from the browser's history): nothing made, and told so.
    late = portal.post(KEYS[1], data, follow=True)
    assert late.redirect_chain == [("/portal/keys/", 303)]
    body = late.content.decode()
    assert "already sent" in body and not KEY_RE.findall(body)
    assert ApiKey.objects.filter(account=verified_account).count() == 1


def test_a_form_without_its_token_makes_nothing(portal, verified_account):
    for token in ("", "made-up"):
        response = portal.post(KEYS[1], {"mode": "test", "submission": token}, follow=True)
        assert "already sent" in response.content.decode()
    assert not ApiKey.objects.filter(account=verified_account).exists()


def test_each_form_opened_makes_its_own_key(portal, verified_account):
    # Two tabs (or the form opened again): each submission is its own request.
    tokens = [submission(portal, KEYS[0]) for _ in range(2)]
    posted = [portal.post(KEYS[1], {"name": f"k{i}", "mode": "test", "submission": t}) for i, t in enumerate(tokens)]
    shown = [KEY_RE.findall(portal.get(p["Location"]).content.decode()) for p in reversed(posted)]
    assert [len(s) for s in shown] == [1, 1] and shown[0] != shown[1]
    assert ApiKey.objects.filter(account=verified_account).count() == 2


def test_a_refused_form_keeps_its_token_for_the_corrected_one(verified_account):
    account = AccountFactory()  # not verified: no live keys
    client = Client()
    client.force_login(account.owner)
    token = submission(client, KEYS[0])
    invalid = client.post(KEYS[1], {"mode": "bogus", "submission": token})
    assert invalid.status_code == 400 and f'value="{token}"' in invalid.content.decode()
    refused = client.post(KEYS[1], {"mode": "live", "submission": token})
    assert refused.status_code == 403 and f'value="{token}"' in refused.content.decode()
    assert _shown_token(client.post(KEYS[1], {"mode": "test", "submission": token})) == token
    assert ApiKey.objects.filter(account=account).count() == 1


def test_a_secret_is_shown_only_on_its_own_page_and_session(portal, verified_account, other_account):
    token = _shown_token(send_form(portal, *KEYS, {"mode": "test"}))
    stranger = Client()
    stranger.force_login(other_account.owner)
    for client, url in ((portal, f"/portal/apps/?shown={token}"), (stranger, f"/portal/keys/?shown={token}")):
        assert 'id="revealed-secret"' not in client.get(url).content.decode()
    assert len(KEY_RE.findall(portal.get(f"/portal/keys/?shown={token}").content.decode())) == 1


def test_a_secret_nobody_came_for_is_dropped(portal, verified_account, monkeypatch):
    import time

    posted = send_form(portal, *KEYS, {"mode": "test"})
    later = time.time() + reveal.REVEAL_SECONDS + 1
    monkeypatch.setattr(reveal.time, "time", lambda: later)
    body = portal.get(posted["Location"]).content.decode()
    assert not KEY_RE.findall(body)
    assert not KEY_RE.search(str(dict(portal.session)))


def test_secrets_never_reach_the_log(portal, verified_account, caplog):
    caplog.set_level(logging.DEBUG)
    posted = send_form(portal, *KEYS, {"mode": "test"})
    full_key = KEY_RE.findall(portal.get(posted["Location"]).content.decode())[0]
    created = send_form(portal, *APPS, {"name": "svc", "mode": "test"})
    secret = SECRET_RE.search(portal.get(created["Location"]).content.decode()).group(1)
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert full_key not in logged and secret not in logged


def test_key_create_with_expiry(portal, verified_account):
    day = (timezone.now() + timedelta(days=10)).date()
    response = send_form(portal, *KEYS, {"name": "", "mode": "test", "expires_on": day.isoformat()})
    assert response.status_code == 303
    assert ApiKey.objects.get(account=verified_account).expires_at.date() == day


def test_key_create_rejects_past_expiry(portal, verified_account):
    response = send_form(portal, *KEYS, {"mode": "test", "expires_on": "2000-01-01"})
    assert response.status_code == 400 and "Choose a day after today" in response.content.decode()
    assert not ApiKey.objects.filter(account=verified_account).exists()


def test_unverified_user_sees_clear_message_and_gets_no_live_key():
    account = AccountFactory()
    client = Client()
    client.force_login(account.owner)
    page = client.get("/portal/keys/").content.decode()
    assert "Your email address is not verified" in page
    response = send_form(client, *KEYS, {"name": "x", "mode": "live"})
    assert response.status_code == 403
    assert "Verify your email address before creating live credentials" in response.content.decode()
    assert not ApiKey.objects.filter(account=account).exists()
    assert send_form(client, *KEYS, {"name": "x", "mode": "test"}).status_code == 303


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
    rotate = f"/portal/keys/{old.pk}/rotate/"
    page = portal.get(rotate)
    assert 'name="grace_seconds"' in page.content.decode() and "no-store" in page["Cache-Control"]
    response = send_form(portal, rotate, rotate, {"grace_seconds": "86400"})
    assert response.status_code == 303 and not KEY_RE.findall(response.content.decode())
    new_key = KEY_RE.findall(portal.get(response["Location"]).content.decode())
    assert len(new_key) == 1
    old.refresh_from_db()
    assert old.status == "active" and old.revoked_at > timezone.now() + timedelta(hours=23)


def test_rotate_now_revokes_old_key(portal, verified_account):
    old, _ = services.api_key_create(account=verified_account, mode="test")
    rotate = f"/portal/keys/{old.pk}/rotate/"
    send_form(portal, rotate, rotate, {"grace_seconds": "0"})
    old.refresh_from_db()
    assert old.status == "revoked"


def test_a_resubmitted_rotation_rotates_once(portal, verified_account):
    # With a grace period the old key is still active, so the service alone would rotate it again.
    old, _ = services.api_key_create(account=verified_account, mode="test")
    rotate = f"/portal/keys/{old.pk}/rotate/"
    data = {"grace_seconds": "86400", "submission": submission(portal, rotate)}
    first = portal.post(rotate, data)
    shown = KEY_RE.findall(portal.get(first["Location"]).content.decode())
    again = portal.post(rotate, data, follow=True)
    assert "already sent" in again.content.decode() and not KEY_RE.findall(again.content.decode())
    assert ApiKey.objects.filter(account=verified_account).count() == 2
    old.refresh_from_db()
    assert shown[0].startswith(old.replaced_by.prefix)


def test_rotate_rejects_unknown_grace(portal, verified_account):
    old, _ = services.api_key_create(account=verified_account, mode="test")
    rotate = f"/portal/keys/{old.pk}/rotate/"
    assert send_form(portal, rotate, rotate, {"grace_seconds": "999"}).status_code == 400


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
    posted = send_form(portal, *APPS, {"name": "backend", "mode": "live"})
    assert posted.status_code == 303 and posted["Location"].startswith("/portal/apps/?shown=")
    response = portal.get(posted["Location"])
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    client = OAuthClient.objects.get(account=verified_account)
    body = response.content.decode()
    secret = SECRET_RE.search(body).group(1)
    assert client.application.client_id in body and secret not in posted.content.decode()
    later = portal.get(posted["Location"]).content.decode()
    assert secret not in later and client.application.client_id in later
    assert secret not in str(dict(portal.session))
    # The same form sent again makes no second client.
    again = portal.post(APPS[1], {"name": "backend", "mode": "live", "submission": _shown_token(posted)}, follow=True)
    assert "already sent" in again.content.decode() and secret not in again.content.decode()
    assert OAuthClient.objects.filter(account=verified_account).count() == 1


def test_oauth_client_rotate_secret_and_delete(portal, verified_account):
    client, old_secret = services.oauth_client_create(account=verified_account, name="svc", mode="test")
    rotate = f"/portal/apps/{client.pk}/rotate-secret/"
    page = portal.get(rotate)
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    response = send_form(portal, rotate, rotate)
    assert response.status_code == 303
    body = portal.get(response["Location"]).content.decode()
    new_secret = SECRET_RE.search(body).group(1)
    assert new_secret != old_secret
    assert portal.get(f"/portal/apps/{client.pk}/delete/").status_code == 200
    portal.post(f"/portal/apps/{client.pk}/delete/")
    assert not OAuthClient.objects.filter(pk=client.pk).exists()


def test_a_resubmitted_secret_rotation_keeps_the_secret_shown(portal, verified_account):
    # A second rotation would void the secret the first one showed.
    client, _ = services.oauth_client_create(account=verified_account, name="svc", mode="test")
    rotate = f"/portal/apps/{client.pk}/rotate-secret/"
    data = {"submission": submission(portal, rotate)}
    first, again = portal.post(rotate, data), portal.post(rotate, data)
    assert first["Location"] == again["Location"]
    secret = SECRET_RE.search(portal.get(again["Location"]).content.decode()).group(1)
    portal.post(rotate, data)
    client.application.refresh_from_db()
    assert check_password(secret, client.application.client_secret)
    assert AuditEvent.objects.filter(account=verified_account, action=AuditEvent.Action.CLIENT_SECRET_ROTATED).count() == 1


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
