"""Failed-login lockout with django-axes behind allauth's login form."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import RequestFactory

from accounts.axes import axes_username
from tests.accounts.conftest import PASSWORD, verify
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def only_axes(settings):
    # allauth's own login_failed rate limit would also stop the attempts; switch it off
    # so this proves axes does.
    settings.ACCOUNT_RATE_LIMITS = False
    return settings.AXES_FAILURE_LIMIT


def test_lockout_after_n_failed_logins(client, only_axes):
    account = AccountFactory()
    verify(account.owner)
    email = account.owner.email
    for _ in range(only_axes - 1):
        response = client.post("/accounts/login/", {"login": email, "password": "wrong password!"})
        assert response.status_code == 200
    locked = client.post("/accounts/login/", {"login": email.upper(), "password": "wrong password!"})
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    attempt = AccessAttempt.objects.get()
    assert attempt.username == email and attempt.failures_since_start == only_axes
    # Even the right password is refused while locked out.
    right = client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert right.status_code == 429
    assert client.get("/portal/").status_code == 302


def test_other_users_are_not_locked_out(client, only_axes):
    victim, bystander = AccountFactory(), AccountFactory()
    verify(bystander.owner)
    for _ in range(only_axes):
        client.post("/accounts/login/", {"login": victim.owner.email, "password": "wrong password!"})
    response = client.post("/accounts/login/", {"login": bystander.owner.email, "password": PASSWORD})
    assert response.status_code == 302


def test_axes_username_reads_allauth_admin_and_post_shapes():
    request = RequestFactory().post("/accounts/login/", {"login": "Form@Example.com"})
    assert axes_username(request, {"email": "A@Example.com", "password": "x"}) == "a@example.com"
    assert axes_username(request, {"username": "B@example.com"}) == "b@example.com"
    assert axes_username(request, None) == "form@example.com"


def test_axes_backend_comes_first(settings):
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
