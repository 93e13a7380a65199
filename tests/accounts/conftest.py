"""Fixtures for the accounts tests: verified users, portal clients, a second account."""

from __future__ import annotations

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
