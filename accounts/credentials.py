"""Resolving a presented credential to a ``Principal`` (who is calling; no plan data:
billing looks up its own limits): the start of every /v1/ call.

A resolved credential is cached under its SHA-256 digest, so a warm request costs no
database query, and keeps working while PostgreSQL is down. Revocation and suspension
delete the affected entries (``credentials_invalidate_*``), so they take effect at once;
expiry is checked against the cached ``expires_at`` on every call.

With Redis, ``credential_resolve`` also keeps a short in-process copy of a resolved
credential, so a warm request makes no credential round trip of its own. The copy carries
the credential's *version token* (``{wx}:cv:<cache key>``, a random value that every
invalidation replaces) as a ``weatherapi.context.CredentialCheck``; the throttle's script
compares it atomically with counting, and a request whose copy is outdated is resolved
again (``accounts.authentication.reauthenticate``) before it is counted. So a revocation
or suspension takes effect on the very next request, in every process.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.utils import timezone

from weatherapi.context import CredentialCheck
from weatherapi.errors import InvalidCredentials, PermissionDeniedError, ServiceUnavailable
from weatherapi.redis import METERING_KEY_PREFIX, redis_client, redis_failed
from weatherapi.scopes import ALL_SCOPES

KEY_BODY_LENGTH = 40
KEY_DISPLAY_LENGTH = 8
KEY_PATTERN = re.compile(r"^wx_(live|test)_[A-Za-z0-9]{32,64}$")
_BASE62 = string.ascii_letters + string.digits
_NEGATIVE = "-"  # cached marker for "no such credential", so guessing costs no query
_NEGATIVE_TTL = 30

CredentialType = Literal["api_key", "oauth"]
Mode = Literal["live", "test"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the account and the credential (``weatherapi.context.Caller``)."""

    account_id: int
    credential_type: CredentialType
    credential_id: int
    credential_prefix: str
    mode: Mode
    scopes: frozenset[str] = field(default=ALL_SCOPES)
    expires_at: datetime | None = None
    suspended: bool = False

    @property
    def is_test(self) -> bool:
        return self.mode == "test"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def api_key_generate(mode: Mode) -> tuple[str, str, str]:
    """A new key: (full key, display prefix, digest). The full key is never stored."""
    body = "".join(secrets.choice(_BASE62) for _ in range(KEY_BODY_LENGTH))
    key = f"wx_{mode}_{body}"
    return key, key[: len(f"wx_{mode}_") + KEY_DISPLAY_LENGTH], digest(key)


def _api_key_cache_key(key_digest: str) -> str:
    return f"cred:key:{key_digest}"


def _token_cache_key(checksum: str) -> str:
    return f"cred:tok:{checksum}"


def _check_usable(principal: Principal) -> Principal:
    if principal.expires_at is not None and principal.expires_at <= timezone.now():
        raise InvalidCredentials("The credential has expired.")
    if principal.suspended:
        raise PermissionDeniedError("This account is suspended.")
    return principal


def resolve_api_key(raw: str) -> Principal:
    raw = raw.strip()
    if not KEY_PATTERN.match(raw):
        raise InvalidCredentials("The API key is malformed.")
    key_digest = digest(raw)
    cache_key = _api_key_cache_key(key_digest)
    cached = cache.get(cache_key)
    if cached == _NEGATIVE:
        raise InvalidCredentials("The API key is invalid.")
    if isinstance(cached, Principal):
        return _check_usable(cached)
    principal = _load_api_key(key_digest)
    if principal is None:
        cache.set(cache_key, _NEGATIVE, _NEGATIVE_TTL)
        raise InvalidCredentials("The API key is invalid.")
    cache.set(cache_key, principal, _cache_seconds(principal))
    return _check_usable(principal)


def _cache_seconds(principal: Principal) -> int:
    """How long a resolved credential is cached: never past its end."""
    ttl = settings.CREDENTIAL_CACHE_SECONDS
    if principal.expires_at is not None:
        ttl = max(1, min(ttl, int((principal.expires_at - timezone.now()).total_seconds()) + 1))
    return ttl


def _load_api_key(key_digest: str) -> Principal | None:
    from accounts.models import ApiKey

    try:
        row = (
            ApiKey.objects.select_related("account")
            .filter(digest=key_digest)
            .only("id", "prefix", "mode", "digest", "expires_at", "revoked_at",
                  "account__id", "account__is_suspended")
            .first()
        )
        if row is None:
            return None
        # The digest matched by index; compare again in constant time so the check itself
        # leaks nothing even if the lookup path changes.
        if not hmac.compare_digest(row.digest, key_digest):
            return None
        if row.revoked_at is not None and row.revoked_at <= timezone.now():
            return None
    except DatabaseError as e:
        raise ServiceUnavailable("Credentials cannot be checked right now.", retry_after=5) from e
    # A key rotated with a grace period is revoked at a future time: it ends then, whatever
    # copy of it is cached.
    ends = [t for t in (row.expires_at, row.revoked_at) if t is not None]
    return Principal(
        account_id=row.account_id,
        credential_type="api_key",
        credential_id=row.id,
        credential_prefix=row.prefix,
        mode=row.mode,  # type: ignore[arg-type]
        expires_at=min(ends) if ends else None,
        suspended=row.account.is_suspended,
    )


def resolve_bearer_token(token: str) -> Principal:
    token = token.strip()
    if not token or len(token) > 255:
        raise InvalidCredentials("The access token is invalid or has expired.")
    checksum = digest(token)
    cache_key = _token_cache_key(checksum)
    cached = cache.get(cache_key)
    if cached == _NEGATIVE:
        raise InvalidCredentials("The access token is invalid or has expired.")
    if isinstance(cached, Principal):
        if cached.expires_at is not None and cached.expires_at <= timezone.now():
            raise InvalidCredentials("The access token is invalid or has expired.")
        return _check_usable(cached)
    principal = _load_token(checksum)
    if principal is None:
        cache.set(cache_key, _NEGATIVE, _NEGATIVE_TTL)
        raise InvalidCredentials("The access token is invalid or has expired.")
    cache.set(cache_key, principal, _cache_seconds(principal))
    if principal.expires_at is not None and principal.expires_at <= timezone.now():
        raise InvalidCredentials("The access token is invalid or has expired.")
    return _check_usable(principal)


def _load_token(checksum: str) -> Principal | None:
    from oauth2_provider.models import get_access_token_model

    from accounts.models import OAuthClient

    access_token_model = get_access_token_model()
    try:
        row = access_token_model.objects.filter(token_checksum=checksum).only(
            "id", "token_checksum", "expires", "scope", "application_id"
        ).first()
        if row is None or row.application_id is None:
            return None
        client = (
            OAuthClient.objects.select_related("account")
            .filter(application_id=row.application_id)
            .only("id", "mode", "application_id", "account__id", "account__is_suspended")
            .first()
        )
        if client is None:
            return None
    except DatabaseError as e:
        raise ServiceUnavailable("Credentials cannot be checked right now.", retry_after=5) from e
    return Principal(
        account_id=client.account_id,
        credential_type="oauth",
        credential_id=client.id,
        credential_prefix=f"oauth:{client.id}",
        mode=client.mode,  # type: ignore[arg-type]
        scopes=frozenset(row.scope.split()) & ALL_SCOPES,
        expires_at=row.expires,
        suspended=client.account.is_suspended,
    )


def credentials_invalidate_api_key(*, key_digest: str) -> None:
    cache.delete(_api_key_cache_key(key_digest))
    _versions_bump([_api_key_cache_key(key_digest)])


def credentials_invalidate_account(*, account_id: int) -> None:
    """Forget every cached credential of an account (suspension, reactivation)."""
    from oauth2_provider.models import get_access_token_model

    from accounts.models import ApiKey

    keys = [_api_key_cache_key(d) for d in ApiKey.objects.filter(account_id=account_id).values_list("digest", flat=True)]
    token_model = get_access_token_model()
    keys += [
        _token_cache_key(c)
        for c in token_model.objects.filter(
            application__wx_client__account_id=account_id, expires__gt=timezone.now()
        ).values_list("token_checksum", flat=True)
        if c
    ]
    if keys:
        cache.delete_many(keys)
        _versions_bump(keys)


def credentials_invalidate_application(*, application_id: int) -> None:
    from oauth2_provider.models import get_access_token_model

    checksums = get_access_token_model().objects.filter(application_id=application_id).values_list(
        "token_checksum", flat=True
    )
    keys = [_token_cache_key(c) for c in checksums if c]
    if keys:
        cache.delete_many(keys)
        _versions_bump(keys)


# --- The in-process copy, checked by a version token (module docstring) ----------------

LOCAL_MAX_ENTRIES = 10_000
_VERSION_TTL = 7 * 86400  # a token that disappears only forces a refresh, never a stale hit
_VERSION_PREFIX = METERING_KEY_PREFIX + "cv:"

_local_lock = threading.Lock()
_local: dict[str, tuple[Principal, str, float]] = {}  # cache key -> (principal, token, read at)


def _local_drop(cache_keys: list[str]) -> None:
    with _local_lock:
        for key in cache_keys:
            _local.pop(key, None)


def _versions_bump(cache_keys: list[str]) -> None:
    """After the cached entries are deleted: new tokens, so every process's copy is refused."""
    _local_drop(cache_keys)
    client = redis_client()
    if client is None:
        return
    try:
        pipe = client.pipeline(transaction=False)
        for key in cache_keys:
            pipe.set(_VERSION_PREFIX + key, secrets.token_hex(8), ex=_VERSION_TTL)
        pipe.execute()
    except Exception as e:  # noqa: BLE001 - like cache.delete with IGNORE_EXCEPTIONS
        redis_failed(e, what="credential versions")


def _read_version(client: Any, cache_key: str) -> str | None:
    """The current token, read *before* the credential itself, so that a copy can only
    ever carry a token older than its data (a refresh, never a stale hit)."""
    token = client.get(_VERSION_PREFIX + cache_key)
    return token.decode() if isinstance(token, bytes) else token


def _version_create(client: Any, cache_key: str) -> None:
    client.set(_VERSION_PREFIX + cache_key, secrets.token_hex(8), ex=_VERSION_TTL, nx=True)


def _resolve_shared(kind: str, secret: str) -> Principal:
    return resolve_api_key(secret) if kind == "api_key" else resolve_bearer_token(secret)


def _cache_key_for(kind: str, secret: str) -> str | None:
    secret = secret.strip()
    if kind == "api_key":
        return _api_key_cache_key(digest(secret)) if KEY_PATTERN.match(secret) else None
    if not secret or len(secret) > 255:
        return None
    return _token_cache_key(digest(secret))


def credential_resolve(kind: str, secret: str) -> tuple[Principal, CredentialCheck | None]:
    """The caller a credential (``kind`` "api_key" or "oauth") names; raises for a bad,
    revoked, expired or suspended one.

    With Redis, a copy this process resolved less than ``CREDENTIAL_LOCAL_SECONDS`` ago
    is used without any I/O, and returned with the check the throttle must make of it.
    Otherwise (no copy, no Redis) the credential is resolved through the shared cache and
    the database, copied, and returned without a check: it is current.
    """
    client = redis_client()
    cache_key = _cache_key_for(kind, secret)
    if client is None or cache_key is None or settings.CREDENTIAL_LOCAL_SECONDS <= 0:
        return _resolve_shared(kind, secret), None
    entry = _local.get(cache_key)
    if entry is not None and time.monotonic() - entry[2] < settings.CREDENTIAL_LOCAL_SECONDS:
        principal, token, _ = entry
        if kind == "oauth" and principal.expires_at is not None and principal.expires_at <= timezone.now():
            raise InvalidCredentials("The access token is invalid or has expired.")
        return _check_usable(principal), CredentialCheck(_VERSION_PREFIX + cache_key, token)
    now = time.monotonic()
    try:
        current = _read_version(client, cache_key)
    except Exception as e:  # noqa: BLE001 - Redis failing: no copy, the shared path
        redis_failed(e, what="credential versions")
        return _resolve_shared(kind, secret), None
    principal = _resolve_shared(kind, secret)  # raises for an unknown credential
    if current is None:
        # A token is made only for a credential that exists, so that guessed keys leave no
        # state but the short negative cache entry. The copy waits for the next request:
        # one made now could pair this read with a token a revocation just wrote.
        try:
            _version_create(client, cache_key)
        except Exception as e:  # noqa: BLE001
            redis_failed(e, what="credential versions")
        return principal, None
    with _local_lock:
        if len(_local) >= LOCAL_MAX_ENTRIES:
            _local.pop(next(iter(_local)), None)  # oldest inserted first
        _local[cache_key] = (principal, current, now)
    return principal, None


def credential_forget(check: CredentialCheck) -> None:
    """The throttle found the copy outdated (or could not check it): drop it."""
    _local_drop([check.version_key.removeprefix(_VERSION_PREFIX)])
