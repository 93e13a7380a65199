"""DRF authentication: ``X-API-Key`` and OAuth2 bearer tokens, both cached (see credentials)."""

from __future__ import annotations

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


class ApiKeyAuthentication(BaseAuthentication):
    header = "HTTP_X_API_KEY"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        raw = request.META.get(self.header)
        if raw is None:
            return None
        principal, stamp = resolve_local("api_key", raw)
        return _attach(request, principal, stamp, "api_key", raw)

    def authenticate_header(self, request: Request) -> str:
        return 'ApiKey header="X-API-Key"'


class BearerTokenAuthentication(BaseAuthentication):
    """OAuth2 access tokens issued by django-oauth-toolkit at /o/token/."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        principal, stamp = resolve_local("oauth", token)
        return _attach(request, principal, stamp, "oauth", token)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
