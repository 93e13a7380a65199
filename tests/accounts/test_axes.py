"""Failed-login lockout with django-axes behind allauth's login form."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import RequestFactory

from accounts.axes import axes_username, client_ip
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


@pytest.mark.parametrize(
    ("count", "forwarded_for", "expected"),
    [
        (0, "203.0.113.7", "10.0.0.5"),  # no trusted proxy: the header is ignored
        (1, None, "10.0.0.5"),  # straight to the pod (a probe)
        (1, "203.0.113.7", "203.0.113.7"),  # the ALB appended the client
        (1, "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # a spoofed left-most entry is ignored
        (1, '198.51.100.1, ", 203.0.113.7', "203.0.113.7"),  # so is a quote meant to hide the real one
        (1, "198.51.100.1, garbage", "10.0.0.5"),  # not an address: never a client-chosen value
        (2, "198.51.100.1, 203.0.113.7, 10.1.2.3", "203.0.113.7"),  # two proxies
        (2, "203.0.113.7", "10.0.0.5"),  # fewer entries than proxies
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_ip_is_what_the_trusted_proxies_appended(settings, count, forwarded_for, expected):
    settings.TRUSTED_PROXY_COUNT = count
    meta = {"REMOTE_ADDR": "10.0.0.5"}
    if forwarded_for is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded_for
    request = RequestFactory().post("/accounts/login/", **meta)
    assert client_ip(request) == expected


def test_axes_and_allauth_key_on_the_same_client_address(settings):
    from allauth.account.adapter import get_adapter
    from axes.helpers import get_client_ip_address

    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="10.0.0.5",
                                    HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7")
    assert get_client_ip_address(request) == get_adapter().get_client_ip(request) == "203.0.113.7"


def test_one_setting_configures_every_client_address_limit(settings):
    assert settings.AXES_CLIENT_IP_CALLABLE == "accounts.axes.client_ip"
    assert settings.ALLAUTH_TRUSTED_PROXY_COUNT == settings.TRUSTED_PROXY_COUNT
    # allauth's per-email failed-login limit would let anyone lock an owner out from anywhere.
    from allauth.account import app_settings

    assert app_settings.RATE_LIMITS["login_failed"] == "10/m/ip"
