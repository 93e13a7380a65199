"""Factories for the suite. Credentials go through the real services (hashing, audit)."""

from __future__ import annotations

import factory

from accounts.models import Account, User
from accounts.services import api_key_create, oauth_client_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    owner = factory.SubFactory(UserFactory)
    name = factory.LazyAttribute(lambda a: a.owner.email)


def api_key_for(account: Account, *, mode: str = "live", **kwargs) -> str:
    _, full_key = api_key_create(account=account, mode=mode, **kwargs)
    return full_key


def oauth_client_for(account: Account, *, mode: str = "live", name: str = "test client"):
    return oauth_client_create(account=account, name=name, mode=mode)
