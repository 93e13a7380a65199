"""Writes for users, accounts and credentials. Keyword-only, typed, atomic."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from oauth2_provider.models import get_application_model

from accounts.credentials import (
    Mode,
    api_key_generate,
    credentials_invalidate_account,
    credentials_invalidate_api_key,
    credentials_invalidate_application,
)
from accounts.models import Account, ApiKey, AuditEvent, OAuthClient, User
from weatherapi.errors import InvalidParameter, PermissionDeniedError


def user_create(*, email: str, password: str | None = None) -> User:
    return User.objects.create_user(email=email, password=password)


def account_create(*, owner: User, name: str | None = None) -> Account:
    return Account.objects.create(owner=owner, name=name or owner.email)


@transaction.atomic
def account_ensure_for_user(*, user: User) -> Account:
    """The user's account, created if missing.

    Signup creates it (accounts/adapter.py), but users made by ``createsuperuser`` or in the
    admin have none; the portal calls this instead of failing on them.
    """
    account = Account.objects.filter(owner=user).first()
    return account or account_create(owner=user)


@transaction.atomic
def account_get_or_create_for_email(*, email: str) -> Account:
    """The account of ``email``, creating the user (unusable password) and account if missing."""
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email=email).first()
    if user is None:
        user = user_create(email=email)
    account = Account.objects.filter(owner=user).first()
    return account or account_create(owner=user)


def audit_record(
    *, account: Account, action: str, actor: User | None = None, target: str = "", details: dict | None = None
) -> AuditEvent:
    return AuditEvent.objects.create(
        account=account, action=action, actor=actor, target=target, details=details or {}
    )


def _require_not_suspended(*, account: Account, actor: User | None) -> None:
    # A suspended customer's credentials are refused anyway; minting new ones from the
    # portal would only confuse them. Operators may still act on the account.
    if account.is_suspended and actor is not None and not actor.is_staff:
        raise PermissionDeniedError("This account is suspended; contact support.")


def _require_live_allowed(*, account: Account, mode: Mode, actor: User | None) -> None:
    # Live credentials cost money; only a verified email may create them from the portal.
    # Operators (actor None: management commands, admin staff) are trusted.
    if mode != "live" or actor is None or actor.is_staff:
        return
    from allauth.account.models import EmailAddress

    if not EmailAddress.objects.filter(user=actor, verified=True).exists():
        raise PermissionDeniedError("Verify your email address before creating live credentials.")


def _lock_account(*, account: Account) -> None:
    # Credential creation for one account runs one at a time (a row lock on PostgreSQL), so
    # concurrent requests cannot all pass a cap together.
    list(Account.objects.select_for_update().filter(pk=account.pk).values_list("pk", flat=True))


def _require_key_capacity(*, account: Account, replacing: ApiKey | None = None) -> None:
    """At most ``MAX_API_KEYS_PER_ACCOUNT`` keys that work now or later: a key in a rotation
    grace period counts until it ends. A rotation with a grace period does not count the key
    it replaces, so a full account can still rotate; one without (the old key ends at once)
    is never refused."""
    now = timezone.now()
    working = ApiKey.objects.filter(account=account).filter(
        Q(revoked_at__isnull=True) | Q(revoked_at__gt=now), Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    if replacing is not None:
        working = working.exclude(pk=replacing.pk)
    cap = settings.MAX_API_KEYS_PER_ACCOUNT
    if working.count() >= cap:
        raise PermissionDeniedError(
            f"An account may hold at most {cap} active API keys (keys in a rotation grace period "
            "included); revoke one you no longer use first."
        )


def _require_client_capacity(*, account: Account) -> None:
    cap = settings.MAX_OAUTH_CLIENTS_PER_ACCOUNT
    if OAuthClient.objects.filter(account=account).count() >= cap:
        raise PermissionDeniedError(
            f"An account may hold at most {cap} OAuth clients; delete one you no longer use first."
        )


@transaction.atomic
def api_key_create(
    *,
    account: Account,
    mode: Mode = "live",
    name: str = "",
    expires_at: datetime | None = None,
    created_by: User | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns it with the full key, which exists nowhere else afterwards."""
    return _api_key_create(account=account, mode=mode, name=name, expires_at=expires_at,
                           created_by=created_by, replacing=None, replaced_at_once=False)


def _api_key_create(
    *,
    account: Account,
    mode: Mode,
    name: str,
    expires_at: datetime | None,
    created_by: User | None,
    replacing: ApiKey | None,
    replaced_at_once: bool,
) -> tuple[ApiKey, str]:
    if mode not in ("live", "test"):
        raise InvalidParameter("mode must be live or test", errors={"mode": ["Choose live or test."]})
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidParameter("expires_at must be in the future", errors={"expires_at": ["Must be in the future."]})
    _require_not_suspended(account=account, actor=created_by)
    _require_live_allowed(account=account, mode=mode, actor=created_by)
    _lock_account(account=account)
    if not replaced_at_once:
        _require_key_capacity(account=account, replacing=replacing)
    full_key, prefix, key_digest = api_key_generate(mode)
    api_key = ApiKey.objects.create(
        account=account,
        name=name[:100],
        mode=mode,
        prefix=prefix,
        digest=key_digest,
        expires_at=expires_at,
        created_by=created_by,
    )
    audit_record(account=account, action=AuditEvent.Action.KEY_CREATED, actor=created_by, target=prefix)
    return api_key, full_key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: User | None = None, at: datetime | None = None) -> ApiKey:
    """Revoke now (or at ``at``, for a rotation grace period). Idempotent."""
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    when = at or timezone.now()
    if api_key.revoked_at is not None and api_key.revoked_at <= when:
        return api_key
    api_key.revoked_at = when
    api_key.revoked_by = actor
    api_key.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(
        account=api_key.account,
        action=AuditEvent.Action.KEY_REVOKED,
        actor=actor,
        target=api_key.prefix,
        details={"effective_at": when.isoformat()},
    )
    # Delete after commit too, so no concurrent request re-caches the pre-revocation row.
    credentials_invalidate_api_key(key_digest=api_key.digest)
    transaction.on_commit(lambda: credentials_invalidate_api_key(key_digest=api_key.digest))
    return api_key


@transaction.atomic
def api_key_rotate(
    *, api_key: ApiKey, actor: User | None = None, grace_seconds: int = 0
) -> tuple[ApiKey, str]:
    """A new key with the same name, mode and expiry; the old one revoked now or after a grace."""
    if not 0 <= grace_seconds <= 7 * 86400:
        raise InvalidParameter("grace period must be between 0 and 7 days")
    if api_key.status != "active":
        raise InvalidParameter("Only an active key can be rotated.")
    new_key, full_key = _api_key_create(
        account=api_key.account,
        mode=api_key.mode,  # type: ignore[arg-type]
        name=api_key.name,
        expires_at=api_key.expires_at,
        created_by=actor,
        replacing=api_key,
        replaced_at_once=grace_seconds == 0,
    )
    ApiKey.objects.filter(pk=api_key.pk).update(replaced_by=new_key)
    api_key_revoke(api_key=api_key, actor=actor, at=timezone.now() + timedelta(seconds=grace_seconds))
    audit_record(
        account=api_key.account,
        action=AuditEvent.Action.KEY_ROTATED,
        actor=actor,
        target=api_key.prefix,
        details={"new": new_key.prefix, "grace_seconds": grace_seconds},
    )
    return new_key, full_key


@transaction.atomic
def account_suspend(*, account: Account, actor: User | None, reason: str = "") -> Account:
    account = Account.objects.select_for_update().get(pk=account.pk)
    if not account.is_suspended:
        account.is_suspended = True
        account.suspended_at = timezone.now()
        account.suspended_by = actor
        account.suspension_reason = reason[:500]
        account.save(update_fields=["is_suspended", "suspended_at", "suspended_by", "suspension_reason"])
        audit_record(account=account, action=AuditEvent.Action.ACCOUNT_SUSPENDED, actor=actor,
                     details={"reason": reason[:500]})
    credentials_invalidate_account(account_id=account.pk)
    transaction.on_commit(lambda: credentials_invalidate_account(account_id=account.pk))
    return account


@transaction.atomic
def account_reactivate(*, account: Account, actor: User | None) -> Account:
    account = Account.objects.select_for_update().get(pk=account.pk)
    if account.is_suspended:
        account.is_suspended = False
        account.save(update_fields=["is_suspended"])
        audit_record(account=account, action=AuditEvent.Action.ACCOUNT_REACTIVATED, actor=actor)
    # Like suspension: now, and again after commit in case a concurrent request re-cached
    # the suspended principal in between.
    credentials_invalidate_account(account_id=account.pk)
    transaction.on_commit(lambda: credentials_invalidate_account(account_id=account.pk))
    return account


@transaction.atomic
def oauth_client_create(
    *, account: Account, name: str, mode: Mode = "live", created_by: User | None = None
) -> tuple[OAuthClient, str]:
    """A client-credentials client; returns it with the plain secret (stored only hashed)."""
    if mode not in ("live", "test"):
        raise InvalidParameter("mode must be live or test")
    _require_not_suspended(account=account, actor=created_by)
    _require_live_allowed(account=account, mode=mode, actor=created_by)
    _lock_account(account=account)
    _require_client_capacity(account=account)
    application_model = get_application_model()
    secret = secrets.token_urlsafe(48)
    application = application_model(
        name=f"{account.pk}:{name}"[:255],
        user=account.owner,
        client_type=application_model.CLIENT_CONFIDENTIAL,
        authorization_grant_type=application_model.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,  # hashed on save (DOT >= 2.0)
        hash_client_secret=True,
    )
    application.save()
    client = OAuthClient.objects.create(
        application=application, account=account, name=name[:100], mode=mode, created_by=created_by
    )
    audit_record(account=account, action=AuditEvent.Action.CLIENT_CREATED, actor=created_by,
                 target=application.client_id)
    return client, secret


@transaction.atomic
def oauth_client_rotate_secret(*, client: OAuthClient, actor: User | None = None) -> str:
    """A new secret; tokens already issued keep working until they expire."""
    application = client.application
    secret = secrets.token_urlsafe(48)
    application.client_secret = secret
    application.save(update_fields=["client_secret", "updated"])
    audit_record(account=client.account, action=AuditEvent.Action.CLIENT_SECRET_ROTATED, actor=actor,
                 target=application.client_id)
    return secret


@transaction.atomic
def oauth_client_delete(*, client: OAuthClient, actor: User | None = None) -> None:
    """Delete the client and every token it holds; its bearer tokens stop working at once."""
    application = client.application
    application_id = application.pk
    credentials_invalidate_application(application_id=application_id)
    audit_record(account=client.account, action=AuditEvent.Action.CLIENT_DELETED, actor=actor,
                 target=application.client_id)
    application.delete()  # cascades to tokens and the OAuthClient row
