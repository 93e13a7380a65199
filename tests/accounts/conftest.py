"""Fixtures for the accounts tests: verified users, portal clients, a second account."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from tests.factories import AccountFactory

PASSWORD = "correct horse battery staple"


def verify(user) -> None:
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )


@pytest.fixture
def verified_account(db):
    account = AccountFactory()
    verify(account.owner)
    return account


@pytest.fixture
def other_account(db):
    account = AccountFactory()
    verify(account.owner)
    return account


@pytest.fixture
def portal(verified_account) -> Client:
    """A browser-like client logged in as the owner of ``verified_account``."""
    client = Client()
    client.force_login(verified_account.owner)
    return client


@pytest.fixture
def admin_user(db):
    from accounts.models import User

    return User.objects.create_superuser(email="ops@example.com", password=PASSWORD)


@pytest.fixture
def admin_site(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


CURRENT = "/v1/weather/current?lat=52.52&lon=13.40"


SUBMISSION_RE = re.compile(r'name="submission" value="([^"]+)"')


def submission(client: Client, page: str) -> str:
    """The one-time submission token of the form on ``page``, as a browser would send it."""
    return SUBMISSION_RE.search(client.get(page).content.decode()).group(1)


def send_form(client: Client, page: str, action: str, data: dict | None = None, **kwargs):
    """Open ``page`` and send its form to ``action`` with ``data``, as a browser does."""
    return client.post(action, {**(data or {}), "submission": submission(client, page)}, **kwargs)
