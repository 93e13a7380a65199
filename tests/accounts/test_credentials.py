"""Credential resolution and its cache: expiry, negative caching, invalidation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts import services
from accounts.credentials import digest, resolve_api_key
from accounts.models import ApiKey
from weatherapi.errors import InvalidCredentials, PermissionDeniedError

pytestmark = pytest.mark.django_db


def test_resolve_caches_the_principal(account, django_assert_num_queries):
    _, full_key = services.api_key_create(account=account, mode="test")
    first = resolve_api_key(full_key)
    with django_assert_num_queries(0):
        assert resolve_api_key(full_key) == first
    assert first.mode == "test" and first.account_id == account.pk


def test_expiry_is_checked_against_the_cached_copy(account):
    api_key, full_key = services.api_key_create(
        account=account, mode="test", expires_at=timezone.now() + timedelta(hours=1)
    )
    resolve_api_key(full_key)
    principal = cache.get(f"cred:key:{digest(full_key)}")
    cache.set(f"cred:key:{digest(full_key)}", type(principal)(**{
        **{f: getattr(principal, f) for f in principal.__slots__},
        "expires_at": timezone.now() - timedelta(seconds=1),
    }))
    with pytest.raises(InvalidCredentials):
        resolve_api_key(full_key)


def test_unknown_key_is_negatively_cached(account, django_assert_num_queries):
    ghost = "wx_live_" + "Z" * 40
    with pytest.raises(InvalidCredentials):
        resolve_api_key(ghost)
    with django_assert_num_queries(0), pytest.raises(InvalidCredentials):
        resolve_api_key(ghost)


def test_revocation_and_suspension_invalidate_the_cache(account):
    api_key, full_key = services.api_key_create(account=account, mode="test")
    other, other_key = services.api_key_create(account=account, mode="test")
    resolve_api_key(full_key)
    resolve_api_key(other_key)
    services.api_key_revoke(api_key=ApiKey.objects.get(pk=api_key.pk))
    with pytest.raises(InvalidCredentials):
        resolve_api_key(full_key)
    services.account_suspend(account=account, actor=None)
    with pytest.raises(PermissionDeniedError):
        resolve_api_key(other_key)
