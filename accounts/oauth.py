"""The token endpoint (``POST /o/token/``): client credentials only, with its abuse limits.

django-oauth-toolkit does the protocol; this module adds what a hostile client needs
(docs/security.md):

* **The same work for every client id.** A client secret is checked with the password
  hasher (PBKDF2, ~0.5 s by design). An unknown client id used to answer at once, which
  told an attacker which ids exist; now a 401 for a client id that does not exist runs
  the hasher against a dummy hash before it leaves, as Django's ``ModelBackend`` does for
  an unknown user.
* **Limits** (fixed windows, in Redis so every process shares them; per process while
  Redis is unavailable), each answered ``429`` with ``Retry-After`` in the OAuth2 error
  shape (docs/design.md, errors) with ``"error": "slow_down"``:

  - every token request per client address (``OAUTH_TOKEN_ATTEMPTS_PER_ADDRESS`` a minute),
    checked before any hashing; the address is ``accounts.axes.client_ip``'s, the one every
    client-address limit reads (``TRUSTED_PROXY_COUNT``);
  - failed client authentications per presented client id
    (``OAUTH_TOKEN_FAILURES_PER_CLIENT`` a minute), checked before any hashing; successes
    never count, so a client with the right secret is held up only while someone else is
    sending its id with wrong secrets, for at most a minute after they stop;
  - tokens minted per client (``OAUTH_TOKEN_MINTS_PER_CLIENT`` an hour), counted after
    the client has authenticated, so nobody else can use up a client's budget.

  ``slow_down`` (RFC 8628, in IANA's OAuth Extensions Error registry for the token
  endpoint) says what a client must do: wait and try again. ``invalid_request`` would tell
  it the request is malformed, which it is not; clients that do not know ``slow_down``
  still get a 429 with ``Retry-After``.
* **A suspended account mints nothing**: ``unauthorized_client`` (400, RFC 6749 §5.2: the
  client authenticated but may not use the grant), checked only after authentication so
  it tells nothing to someone without the secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import threading
import time
from collections import OrderedDict
from functools import cache
from typing import Any
from urllib.parse import unquote_plus

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import get_random_string
from oauth2_provider import views as oauth2_views
from oauth2_provider.models import get_application_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from accounts.axes import client_ip
from weatherapi.context import request_context
from weatherapi.redis import redis_client, redis_failed

ADDRESS_WINDOW = 60
FAILURE_WINDOW = 60
MINT_WINDOW = 3600


class WindowCounter:
    """Fixed-window counters: Redis (shared by every process), else this process's memory
    (bounded, least recently used evicted), also while Redis is backing off."""

    def __init__(self, prefix: str = "wx:tok:", max_keys: int = 10_000) -> None:
        self.prefix = prefix
        self.max_keys = max_keys
        self._memory: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str, *, limit: int, window: int) -> int | None:
        """Count one request; the seconds until the window ends if it is over ``limit``, else None."""
        return self._over(key, limit=limit, window=window, add=1)

    def check(self, key: str, *, limit: int, window: int) -> int | None:
        """Like ``hit`` without counting: would one more request be over ``limit``?"""
        return self._over(key, limit=limit, window=window, add=0)

    def clear(self) -> None:
        with self._lock:
            self._memory.clear()

    def _over(self, key: str, *, limit: int, window: int, add: int) -> int | None:
        now = time.time()
        index = int(now // window)
        full = f"{self.prefix}{key}:{index}"
        count = self._redis(full, window, add)
        if count is None:
            count = self._local(full, add)
        if count + (1 - add) <= limit:
            return None
        return max(1, math.ceil((index + 1) * window - now))

    def _redis(self, key: str, window: int, add: int) -> int | None:
        client = redis_client()
        if client is None:
            return None
        try:
            if not add:
                return int(client.get(key) or 0)
            pipe = client.pipeline(transaction=False)
            pipe.incrby(key, add)
            pipe.expire(key, window + 1)
            return int(pipe.execute()[0])
        except Exception as exc:  # noqa: BLE001 - any Redis failure: this process's counters
            redis_failed(exc, what="token limits")
            return None

    def _local(self, key: str, add: int) -> int:
        with self._lock:
            count = self._memory.pop(key, 0) + add
            self._memory[key] = count
            while len(self._memory) > self.max_keys:
                self._memory.popitem(last=False)
            return count


token_limits = WindowCounter()


class TokenRequestsLimited(errors.OAuth2Error):
    """429 in the OAuth2 error shape, with ``Retry-After``."""

    error = "slow_down"
    status_code = 429

    def __init__(self, retry_after: int, **kwargs: Any) -> None:
        self.retry_after = retry_after
        kwargs.setdefault("description", f"Too many token requests; retry in {retry_after} seconds.")
        super().__init__(**kwargs)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def _client_key(client_id: str | None) -> str | None:
    # A digest: an attacker's client id of any length and content makes a short, safe key.
    if not client_id:
        return None
    return hashlib.sha256(client_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def presented_client_id(request: HttpRequest) -> str | None:
    """The client id of an HTTP Basic ``Authorization`` header, else of the form body (as
    django-oauth-toolkit reads them; nothing is trusted, only counted)."""
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = auth.partition(" ")
    if scheme == "Basic" and value:
        try:
            decoded = base64.b64decode(value).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            decoded = ""
        client_id, sep, _secret = decoded.partition(":")
        if sep and client_id:
            return unquote_plus(client_id)
    form_id = request.POST.get("client_id")
    return form_id or None


@cache
def _dummy_hash() -> str:
    # Made once per process with the hasher that hashes client secrets (the default one).
    return make_password(get_random_string(32))


class ClientCredentialsValidator(OAuth2Validator):
    """Only the client-credentials grant, only for clients created through our services,
    never for a suspended account, the same work for known and unknown client ids."""

    def validate_grant_type(self, client_id: str, grant_type: str, client: Any, request: Any, *args: Any, **kwargs: Any) -> bool:
        from accounts.models import OAuthClient

        if grant_type != "client_credentials":
            return False
        wx_client = OAuthClient.objects.select_related("account").filter(application=client).first()
        if wx_client is None:
            return False
        if not super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs):
            return False
        if wx_client.account.is_suspended:
            raise errors.UnauthorizedClientError(
                description="This client's account is suspended; contact support.", request=request
            )
        retry = token_limits.hit(f"mint:{_client_key(client.client_id)}",
                                 limit=settings.OAUTH_TOKEN_MINTS_PER_CLIENT, window=MINT_WINDOW)
        if retry is not None:
            raise TokenRequestsLimited(retry, request=request)
        return True


def _slow_down(request: HttpRequest, retry_after: int) -> HttpResponse:
    request_context(request).error_code = "rate_limited"
    error = TokenRequestsLimited(retry_after)
    return HttpResponse(
        error.json, status=error.status_code, content_type="application/json",
        headers={"Retry-After": str(retry_after), "Cache-Control": "no-store", "Pragma": "no-cache"},
    )


class TokenView(oauth2_views.TokenView):
    """django-oauth-toolkit's token view behind the per-address and per-client-id limits."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        address = client_ip(request) or "-"
        client_id = presented_client_id(request)
        client_key = _client_key(client_id)
        retry = token_limits.hit(f"addr:{address}", limit=settings.OAUTH_TOKEN_ATTEMPTS_PER_ADDRESS,
                                 window=ADDRESS_WINDOW)
        failures = f"fail:{client_key}"
        if retry is None and client_key is not None:
            retry = token_limits.check(failures, limit=settings.OAUTH_TOKEN_FAILURES_PER_CLIENT,
                                       window=FAILURE_WINDOW)
        if retry is not None:
            return _slow_down(request, retry)
        response: HttpResponse = super().post(request, *args, **kwargs)
        if response.status_code == 401:
            if client_key is not None:
                token_limits.hit(failures, limit=settings.OAUTH_TOKEN_FAILURES_PER_CLIENT, window=FAILURE_WINDOW)
            if client_id is None or not get_application_model().objects.filter(client_id=client_id).exists():
                # No such client (or no readable credentials): no secret was checked, so
                # the hasher's work now, before the answer leaves.
                check_password("not-a-client-secret", _dummy_hash())
        if response.status_code == 429:
            request_context(request).error_code = "rate_limited"
        return response
