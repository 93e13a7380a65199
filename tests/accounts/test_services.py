"""accounts.services: audit, live-credential rules, suspension, rotation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import Account, ApiKey, AuditEvent, User
from tests.accounts.conftest import verify
from tests.factories import AccountFactory, UserFactory
from weatherapi.errors import InvalidParameter, PermissionDeniedError

pytestmark = pytest.mark.django_db


def test_api_key_create_stores_only_digest_and_prefix(verified_account):
    api_key, full_key = services.api_key_create(
        account=verified_account, mode="live", name="prod", created_by=verified_account.owner
    )
    assert full_key.startswith("wx_live_") and len(full_key) >= len("wx_live_") + 32
    row = ApiKey.objects.get(pk=api_key.pk)
    assert full_key.startswith(row.prefix)
    assert full_key not in {row.prefix, row.digest, row.name}
    assert AuditEvent.objects.filter(account=verified_account, action="key.created", target=row.prefix).exists()


def test_unverified_user_cannot_create_live_credentials():
    account = AccountFactory()
    with pytest.raises(PermissionDeniedError):
        services.api_key_create(account=account, mode="live", created_by=account.owner)
    with pytest.raises(PermissionDeniedError):
        services.oauth_client_create(account=account, name="x", mode="live", created_by=account.owner)
    # Test credentials are fine, and operators (actor None) are trusted.
    services.api_key_create(account=account, mode="test", created_by=account.owner)
    services.api_key_create(account=account, mode="live", created_by=None)


def test_suspended_account_cannot_mint_credentials_from_the_portal(verified_account):
    services.account_suspend(account=verified_account, actor=None)
    verified_account.refresh_from_db()
    with pytest.raises(PermissionDeniedError):
        services.api_key_create(account=verified_account, mode="test", created_by=verified_account.owner)


def test_api_key_create_rejects_past_expiry(verified_account):
    with pytest.raises(InvalidParameter):
        services.api_key_create(account=verified_account, expires_at=timezone.now() - timedelta(minutes=1))


def test_api_key_rotate_with_grace_keeps_old_key_until_then(verified_account):
    old, _ = services.api_key_create(account=verified_account, mode="test", name="ci")
    new, full = services.api_key_rotate(api_key=old, actor=verified_account.owner, grace_seconds=3600)
    old.refresh_from_db()
    assert old.status == "active" and old.revoked_at > timezone.now() + timedelta(minutes=59)
    assert old.replaced_by_id == new.pk and new.name == "ci" and full.startswith("wx_test_")
    assert AuditEvent.objects.filter(action="key.rotated", target=old.prefix).exists()


def test_api_key_revoke_is_idempotent_and_audited(verified_account):
    api_key, _ = services.api_key_create(account=verified_account, mode="test")
    services.api_key_revoke(api_key=api_key, actor=verified_account.owner)
    services.api_key_revoke(api_key=api_key, actor=verified_account.owner)
    assert AuditEvent.objects.filter(action="key.revoked", target=api_key.prefix).count() == 1


def test_account_suspend_and_reactivate_are_audited_with_actor(verified_account):
    operator = UserFactory(is_staff=True)
    services.account_suspend(account=verified_account, actor=operator, reason="fraud")
    services.account_reactivate(account=verified_account, actor=operator)
    actions = list(AuditEvent.objects.filter(account=verified_account, actor=operator).values_list("action", flat=True))
    assert set(actions) == {"account.suspended", "account.reactivated"}


def test_account_ensure_for_user_creates_once():
    user = User.objects.create_superuser(email="root@example.com", password="x" * 12)
    first = services.account_ensure_for_user(user=user)
    second = services.account_ensure_for_user(user=user)
    assert first.pk == second.pk and Account.objects.filter(owner=user).count() == 1


def test_oauth_client_secret_is_hashed(verified_account):
    client, secret = services.oauth_client_create(account=verified_account, name="app", mode="test")
    client.application.refresh_from_db()
    assert client.application.client_secret != secret
    assert client.application.client_secret.startswith("pbkdf2_")
    assert client.application.authorization_grant_type == "client-credentials"


def test_verify_helper_makes_user_verified():
    user = UserFactory()
    verify(user)
    services.api_key_create(account=services.account_ensure_for_user(user=user), mode="live", created_by=user)


# --- Issue 19, item 12: caps on keys and clients per account -------------------------------


def test_api_keys_are_capped_per_account(verified_account, settings):
    settings.MAX_API_KEYS_PER_ACCOUNT = 3
    owner = verified_account.owner
    keys = [services.api_key_create(account=verified_account, mode="test", created_by=owner)[0] for _ in range(3)]
    with pytest.raises(PermissionDeniedError, match="at most 3 active API keys"):
        services.api_key_create(account=verified_account, mode="live", created_by=owner)
    # Operators are held to it too (the cap is a setting, not a portal rule).
    with pytest.raises(PermissionDeniedError):
        services.api_key_create(account=verified_account, mode="test", created_by=None)
    # Revoked and expired keys do not count; another account has its own cap.
    services.api_key_revoke(api_key=keys[0], actor=owner)
    ApiKey.objects.filter(pk=keys[1].pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    services.api_key_create(account=verified_account, mode="test", created_by=owner)
    services.api_key_create(account=verified_account, mode="test", created_by=owner)
    services.api_key_create(account=AccountFactory(), mode="test")


def test_rotation_at_the_cap_stays_bounded(verified_account, settings):
    settings.MAX_API_KEYS_PER_ACCOUNT = 2
    owner = verified_account.owner
    first, _ = services.api_key_create(account=verified_account, mode="test", created_by=owner)
    second, _ = services.api_key_create(account=verified_account, mode="test", created_by=owner)
    # A rotation does not count the key it replaces: a full account can rotate ...
    services.api_key_rotate(api_key=first, actor=owner, grace_seconds=3600)
    # ... but a key in its grace period counts until it ends, so a chain of rotations with
    # grace periods cannot pile up working keys.
    with pytest.raises(PermissionDeniedError):
        services.api_key_rotate(api_key=second, actor=owner, grace_seconds=3600)
    # Without a grace period the old key is gone at once: rotating is always possible.
    replacement = ApiKey.objects.get(replaced_by__isnull=True, account=verified_account, revoked_at__isnull=True,
                                     pk__gt=second.pk)
    services.api_key_rotate(api_key=replacement, actor=owner, grace_seconds=0)


def test_oauth_clients_are_capped_per_account(verified_account, settings):
    settings.MAX_OAUTH_CLIENTS_PER_ACCOUNT = 2
    for i in range(2):
        services.oauth_client_create(account=verified_account, name=f"app {i}", mode="test")
    with pytest.raises(PermissionDeniedError, match="at most 2 OAuth clients"):
        services.oauth_client_create(account=verified_account, name="one more", mode="test")
    services.oauth_client_delete(client=verified_account.oauth_clients.first())
    services.oauth_client_create(account=verified_account, name="replacement", mode="test")


@pytest.mark.django_db(transaction=True)
def test_concurrent_creation_cannot_pass_the_cap(settings):
    """The burst of the report (60 keys in 2.5 s) as concurrent requests: the account's row
    lock lets exactly the cap through."""
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite serialises writers anyway)")
    settings.MAX_API_KEYS_PER_ACCOUNT = 3
    account = AccountFactory()
    barrier = threading.Barrier(8)
    refused: list[Exception] = []

    def create() -> None:
        from django.db import connections

        barrier.wait()
        try:
            services.api_key_create(account=account, mode="test")
        except PermissionDeniedError as e:
            refused.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ApiKey.objects.filter(account=account).count() == 3 and len(refused) == 5


def test_the_portal_shows_the_cap_as_a_message(verified_account, settings):
    from django.test import Client

    from tests.accounts.conftest import send_form

    settings.MAX_API_KEYS_PER_ACCOUNT = 1
    settings.MAX_OAUTH_CLIENTS_PER_ACCOUNT = 1
    portal = Client()
    portal.force_login(verified_account.owner)
    keys, apps = ("/portal/keys/", "/portal/keys/create/"), ("/portal/apps/", "/portal/apps/create/")
    assert send_form(portal, *keys, {"name": "a", "mode": "test"}).status_code == 303
    refused = send_form(portal, *keys, {"name": "b", "mode": "test"})
    assert refused.status_code == 403 and "at most 1 active API keys" in refused.content.decode()
    assert send_form(portal, *apps, {"name": "a", "mode": "test"}).status_code == 303
    refused = send_form(portal, *apps, {"name": "b", "mode": "test"})
    assert refused.status_code == 403 and "at most 1 OAuth clients" in refused.content.decode()
