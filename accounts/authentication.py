"""DRF authentication: ``X-API-Key`` and OAuth2 bearer tokens, both cached (see credentials)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts.credentials import Principal, Stamp, resolve_local


class PrincipalUser:
    """What ``request.user`` is for API calls: no User row is loaded on the hot path."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.pk = None

    def __str__(self) -> str:
        return f"account:{self.principal.account_id}"


def _attach(
    request: Request, principal: Principal, stamp: Stamp | None, kind: str, secret: str
) -> tuple[PrincipalUser, Principal]:
    # The metering middleware and the access log read the principal off the Django request.
    request._request.wx_principal = principal  # type: ignore[attr-defined]
    # The throttle validates an in-process copy (stamp) and re-resolves it when stale.
    request._request.wx_credential = (stamp, kind, secret) if stamp is not None else None  # type: ignore[attr-defined]
    return PrincipalUser(principal), principal


def reattach(request: Request, principal: Principal, stamp: Stamp | None, kind: str, secret: str) -> None:
    """The throttle re-resolved the credential: the request carries the fresh principal."""
    user, auth = _attach(request, principal, stamp, kind, secret)
    request.user, request.auth = user, auth  # type: ignore[assignment]


def api_key_in(meta: Mapping[str, Any]) -> str | None:
    return meta.get("HTTP_X_API_KEY")


def bearer_token_in(meta: Mapping[str, Any]) -> str | None:
    scheme, _, token = meta.get("HTTP_AUTHORIZATION", "").partition(" ")
    return token if scheme.lower() == "bearer" else None


def presented_credential(meta: Mapping[str, Any]) -> tuple[str, str] | None:
    """(kind, secret) of what DRF's authenticators would use, in their order: the API key
    first, then a bearer token."""
    key = api_key_in(meta)
    if key is not None:
        return "api_key", key
    token = bearer_token_in(meta)
    return ("oauth", token) if token is not None else None


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        raw = api_key_in(request.META)
        if raw is None:
            return None
        principal, stamp = resolve_local("api_key", raw)
        return _attach(request, principal, stamp, "api_key", raw)

    def authenticate_header(self, request: Request) -> str:
        return 'ApiKey header="X-API-Key"'


class BearerTokenAuthentication(BaseAuthentication):
    """OAuth2 access tokens issued by django-oauth-toolkit at /o/token/."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        token = bearer_token_in(request.META)
        if token is None:
            return None
        principal, stamp = resolve_local("oauth", token)
        return _attach(request, principal, stamp, "oauth", token)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
