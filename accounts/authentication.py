"""DRF authentication: ``X-API-Key`` and OAuth2 bearer tokens, both cached (see credentials)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts.credentials import Principal, credential_forget, credential_resolve
from weatherapi.context import CredentialCheck, request_context
from weatherapi.errors import AuthenticationRequired


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


def _attach(request: Request, principal: Principal, check: CredentialCheck | None) -> tuple[PrincipalUser, Principal]:
    context = request_context(request)
    context.caller = principal
    context.credential_check = check
    return PrincipalUser(principal), principal


def api_key_in(meta: Mapping[str, Any]) -> str | None:
    return meta.get("HTTP_X_API_KEY")


def bearer_token_in(meta: Mapping[str, Any]) -> str | None:
    scheme, _, token = meta.get("HTTP_AUTHORIZATION", "").partition(" ")
    return token if scheme.lower() == "bearer" else None


API_KEY_CHALLENGE = 'ApiKey header="X-API-Key"'
BEARER_CHALLENGE = 'Bearer realm="api"'


def challenge(request: Request) -> str:
    """A 401's ``WWW-Authenticate``: the scheme the client presented (DRF asks the first
    authenticator only), the API key's when it presented none."""
    if api_key_in(request.META) is None and bearer_token_in(request.META) is not None:
        return BEARER_CHALLENGE + ', error="invalid_token"'
    return API_KEY_CHALLENGE


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        raw = api_key_in(request.META)
        if raw is None:
            return None
        return _attach(request, *credential_resolve("api_key", raw))

    def authenticate_header(self, request: Request) -> str:
        return challenge(request)


class BearerTokenAuthentication(BaseAuthentication):
    """OAuth2 access tokens issued by django-oauth-toolkit at /o/token/."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        token = bearer_token_in(request.META)
        if token is None:
            return None
        return _attach(request, *credential_resolve("oauth", token))

    def authenticate_header(self, request: Request) -> str:
        return challenge(request)


def principal_of(request: Request) -> Principal:
    """The authenticated caller of an API view (``HasScope`` has already required one)."""
    principal = request.auth
    if not isinstance(principal, Principal):
        raise AuthenticationRequired()
    return principal


def reauthenticate(request: Request) -> Principal:
    """The in-process copy of the request's credential is outdated, or nobody could check
    it: resolve the credential afresh (raising 401/403 as authentication does) and put
    the new caller on the request. For the throttle, which finds this out."""
    context = request_context(request)
    if context.credential_check is not None:
        credential_forget(context.credential_check)
    key = api_key_in(request.META)
    kind, secret = ("api_key", key) if key is not None else ("oauth", bearer_token_in(request.META) or "")
    user, principal = _attach(request, *credential_resolve(kind, secret))
    request.user, request.auth = user, principal  # type: ignore[assignment]
    return principal
