"""Sign-up, email verification, login, logout and password reset (allauth + our adapter)."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from accounts.models import Account, User
from tests.accounts.conftest import PASSWORD, verify
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

LINK_RE = re.compile(r"https?://[^\s]+/accounts/confirm-email/[^\s]+/")


def _signup(client, email: str, password: str = PASSWORD):
    return client.post("/accounts/signup/", {"email": email, "password1": password, "password2": password})


def test_signup_creates_account_and_sends_signed_expiring_link(client, settings):
    response = _signup(client, "new@example.com")
    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    assert Account.objects.filter(owner=user).exists()
    assert not EmailAddress.objects.get(user=user).verified
    assert len(mail.outbox) == 1
    link = LINK_RE.search(mail.outbox[0].body).group(0)
    page = client.get(link)
    # ACCOUNT_CONFIRM_EMAIL_ON_GET=False: the link shows a confirm button, GET changes nothing.
    assert page.status_code == 200 and "Confirm email address" in page.content.decode()
    assert not EmailAddress.objects.get(user=user).verified
    client.post(link)
    assert EmailAddress.objects.get(user=user).verified
    assert settings.ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS > 0


def test_signup_applies_password_validators(client):
    response = _signup(client, "weak@example.com", password="123")
    assert response.status_code == 200
    assert not User.objects.filter(email="weak@example.com").exists()
    assert "too short" in response.content.decode()


def test_unverified_user_cannot_log_in_until_confirmed(client):
    _signup(client, "pending@example.com")
    client.logout()
    mail.outbox.clear()
    response = client.post("/accounts/login/", {"login": "pending@example.com", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    assert client.get("/portal/").status_code == 302


def test_verified_login_and_logout(client):
    account = AccountFactory()
    verify(account.owner)
    response = client.post("/accounts/login/", {"login": account.owner.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200
    confirm = client.get("/accounts/logout/")
    assert confirm.status_code == 200 and "Log out" in confirm.content.decode()
    client.post("/accounts/logout/")
    assert client.get("/portal/").status_code == 302


def test_signup_does_not_reveal_existing_emails(client):
    existing = AccountFactory().owner
    verify(existing)
    first = _signup(client, existing.email)
    client.logout()
    second = _signup(client, "brand-new@example.com")
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert User.objects.filter(email=existing.email).count() == 1
    # Both get an email; only the owner of the address can tell the difference.
    assert sorted(m.to[0] for m in mail.outbox) == sorted([existing.email, "brand-new@example.com"])


def test_password_reset_does_not_reveal_existing_emails(client):
    existing = AccountFactory().owner
    a = client.post("/accounts/password/reset/", {"email": existing.email})
    b = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert a.status_code == b.status_code == 302 and a["Location"] == b["Location"]
    done = client.get(a["Location"]).content.decode()
    assert "If an account uses that address" in done


def test_password_reset_by_email(client):
    account = AccountFactory()
    verify(account.owner)
    client.post("/accounts/password/reset/", {"email": account.owner.email})
    link = re.search(r"https?://[^\s]+/accounts/password/reset/key/[^\s]+/", mail.outbox[-1].body).group(0)
    form_page = client.get(link, follow=True)
    action = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    new_password = "a much better passphrase 42"
    response = client.post(action, {"password1": new_password, "password2": new_password})
    assert response.status_code == 302
    account.owner.refresh_from_db()
    assert account.owner.check_password(new_password)


@pytest.mark.parametrize(
    "url",
    ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"],
)
def test_auth_pages_use_site_layout_and_bound_labels(client, url):
    body = client.get(url).content.decode()
    assert 'class="site-header"' in body and 'name="csrfmiddlewaretoken"' in body
    for input_id in re.findall(r'<input[^>]*type="(?:email|password|text)"[^>]*\bid="([^"]+)"', body):
        assert f'for="{input_id}"' in body
    assert re.search(r"<button[^>]*>\s*\w", body)


def test_signup_hashes_the_password_for_a_known_email_too(client, monkeypatch):
    """The same work either way, so the answer's timing does not tell (issue 19, item 7)."""
    from django.contrib.auth import hashers

    existing = AccountFactory().owner
    verify(existing)
    calls = []
    hasher = type(hashers.get_hasher())
    real = hasher.encode
    monkeypatch.setattr(hasher, "encode", lambda self, *a, **kw: calls.append(1) or real(self, *a, **kw))
    _signup(client, existing.email)
    known = len(calls)
    client.logout()
    _signup(client, "another-new@example.com")
    assert known == len(calls) - known == 1


def test_email_links_use_public_base_url_not_the_host(client, settings):
    settings.PUBLIC_BASE_URL = "https://portal.example.test"
    account = AccountFactory()
    verify(account.owner)
    client.post("/accounts/password/reset/", {"email": account.owner.email}, HTTP_HOST="localhost:31337")
    _signup(client, "linked@example.com")
    bodies = "\n".join(m.body for m in mail.outbox)
    assert "31337" not in bodies and "testserver" not in bodies
    assert "https://portal.example.test/accounts/password/reset/key/" in bodies
    assert "https://portal.example.test/accounts/confirm-email/" in bodies


def test_one_email_address_per_user(client):
    account = AccountFactory()
    verify(account.owner)
    client.force_login(account.owner)
    client.post("/accounts/email/", {"email": "someone-else@example.com", "action_add": ""})
    assert not EmailAddress.objects.filter(email="someone-else@example.com").exists()


def test_unverified_address_elsewhere_neither_blocks_signup_nor_gets_resets(client):
    squatter = AccountFactory().owner
    verify(squatter)
    EmailAddress.objects.create(user=squatter, email="owner@example.com", verified=False, primary=False)
    client.post("/accounts/password/reset/", {"email": "owner@example.com"})
    assert "/password/reset/key/" not in mail.outbox[-1].body
    _signup(client, "owner@example.com")
    owner = User.objects.get(email="owner@example.com")
    assert list(EmailAddress.objects.filter(email="owner@example.com").values_list("user", flat=True)) == [owner.pk]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DJANGO_DEBUG": "1"}, "http://127.0.0.1:8000"),
        ({"DJANGO_DEBUG": "0", "DJANGO_ALLOWED_HOSTS": "api.example.com,10.0.0.1"}, "https://api.example.com"),
        ({"DJANGO_DEBUG": "0", "PUBLIC_BASE_URL": "https://portal.example.com/"}, "https://portal.example.com"),
        ({"DJANGO_DEBUG": "0", "DJANGO_ALLOWED_HOSTS": ".example.com"}, "ImproperlyConfigured"),
        ({"DJANGO_DEBUG": "0", "PUBLIC_BASE_URL": "https://x.example.com/path"}, "ImproperlyConfigured"),
    ],
)
def test_public_base_url_is_set_or_derived(env, expected):
    import os
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PUBLIC_BASE_URL"))}
    base.update({"DJANGO_SECRET_KEY": "x" * 50, "DJANGO_SETTINGS_MODULE": "weatherapi.settings", **env})
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.PUBLIC_BASE_URL)"],
        env=base, capture_output=True, text=True, timeout=60,
    )
    output = result.stdout.strip() or result.stderr
    assert expected in output, output
