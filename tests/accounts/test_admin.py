"""The operators' admin: listings, audited actions, and no secrets on any page."""

from __future__ import annotations

import pytest

from accounts import services
from accounts.models import ApiKey, AuditEvent, OAuthClient
from tests.accounts.conftest import CURRENT

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/admin/accounts/account/",
        "/admin/accounts/user/",
        "/admin/accounts/apikey/",
        "/admin/accounts/oauthclient/",
        "/admin/accounts/auditevent/",
        "/admin/accounts/user/add/",
        "/admin/accounts/apikey/?mode__exact=live&status=active&q=wx_",
        "/admin/accounts/account/?is_suspended__exact=0&q=example",
    ],
)
def test_admin_pages_render(admin_site, account, url):
    services.api_key_create(account=account, mode="test")
    services.oauth_client_create(account=account, name="c", mode="test")
    assert admin_site.get(url).status_code == 200


def test_dot_admin_pages_are_not_exposed(admin_site):
    assert admin_site.get("/admin/oauth2_provider/accesstoken/").status_code == 404
    assert admin_site.get("/admin/oauth2_provider/application/").status_code == 404


def test_suspend_action_is_audited_and_refuses_credentials(admin_site, admin_user, account, api_client):
    _, full_key = services.api_key_create(account=account, mode="test")
    assert api_client.get(CURRENT, HTTP_X_API_KEY=full_key).status_code == 200
    response = admin_site.post(
        "/admin/accounts/account/", {"action": "suspend_accounts", "_selected_action": [account.pk]}
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.is_suspended and account.suspended_by == admin_user
    assert AuditEvent.objects.filter(account=account, action="account.suspended", actor=admin_user).exists()
    assert api_client.get(CURRENT, HTTP_X_API_KEY=full_key).status_code == 403
    admin_site.post("/admin/accounts/account/", {"action": "reactivate_accounts", "_selected_action": [account.pk]})
    account.refresh_from_db()
    assert not account.is_suspended
    assert AuditEvent.objects.filter(account=account, action="account.reactivated", actor=admin_user).exists()


def test_revoke_action_is_audited(admin_site, admin_user, account, api_client):
    api_key, full_key = services.api_key_create(account=account, mode="test")
    admin_site.post("/admin/accounts/apikey/", {"action": "revoke_keys", "_selected_action": [api_key.pk]})
    api_key.refresh_from_db()
    assert api_key.status == "revoked" and api_key.revoked_by == admin_user
    assert AuditEvent.objects.filter(action="key.revoked", actor=admin_user, target=api_key.prefix).exists()
    assert api_client.get(CURRENT, HTTP_X_API_KEY=full_key).status_code == 401


def test_key_and_secret_never_shown(admin_site, account):
    api_key, full_key = services.api_key_create(account=account, mode="test")
    client, secret = services.oauth_client_create(account=account, name="c", mode="test")
    pages = [
        admin_site.get(f"/admin/accounts/apikey/{api_key.pk}/change/").content.decode(),
        admin_site.get("/admin/accounts/apikey/").content.decode(),
        admin_site.get(f"/admin/accounts/oauthclient/{client.pk}/change/").content.decode(),
        admin_site.get(f"/admin/accounts/account/{account.pk}/change/").content.decode(),
    ]
    hashed = OAuthClient.objects.get(pk=client.pk).application.client_secret
    for page in pages:
        assert full_key not in page and secret not in page and hashed not in page
    assert api_key.prefix in pages[0] and client.application.client_id in pages[2]


def test_key_admin_is_read_only(admin_site, account):
    api_key, _ = services.api_key_create(account=account, mode="test")
    admin_site.post(f"/admin/accounts/apikey/{api_key.pk}/change/", {"name": "hacked", "mode": "live"})
    assert ApiKey.objects.get(pk=api_key.pk).name == ""
    assert admin_site.get("/admin/accounts/apikey/add/").status_code == 403


def test_audit_events_are_read_only(admin_site, account):
    services.api_key_create(account=account, mode="test")
    event = AuditEvent.objects.first()
    assert admin_site.get("/admin/accounts/auditevent/add/").status_code == 403
    assert admin_site.post(f"/admin/accounts/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403


def test_deleting_a_client_in_admin_goes_through_the_service(admin_site, admin_user, account):
    client, _ = services.oauth_client_create(account=account, name="c", mode="test")
    admin_site.post(f"/admin/accounts/oauthclient/{client.pk}/delete/", {"post": "yes"})
    assert not OAuthClient.objects.filter(pk=client.pk).exists()
    assert AuditEvent.objects.filter(action="client.deleted", actor=admin_user).exists()
