"""What one request carries between the layers, in one typed object.

``RequestIdMiddleware`` creates it; each layer fills in its part and reads the others'
through the types declared here, so the core package names no app:

* authentication (accounts) sets ``caller`` and, for an in-process copy of a resolved
  credential, ``credential_check``;
* the throttle (billing) sets ``rate``, and checks ``credential_check`` in its script;
* a view sets ``cache`` (hit, miss or stale) and, when it had its answer before the
  throttle ran, ``prepared``;
* the exception handler sets ``error_code``;
* the access log and the metering middleware read them after the view.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from django.http import HttpRequest


class Caller(Protocol):
    """Who is calling, as the layers below the one that resolves credentials see it."""

    @property
    def account_id(self) -> int: ...

    @property
    def credential_prefix(self) -> str: ...


class RateReport(Protocol):
    """What the throttle saw, as the response headers need it."""

    def headers(self) -> dict[str, str]: ...


@dataclass(frozen=True, slots=True)
class CredentialCheck:
    """A credential served from this process's own copy is current while the Redis key
    ``version_key`` still holds ``token``; the throttle's script checks it in the same
    round trip that counts the request."""

    version_key: str
    token: str


@dataclass(slots=True)
class RequestContext:
    request_id: str
    started: float = field(default_factory=time.perf_counter)
    caller: Caller | None = None
    credential_check: CredentialCheck | None = None
    rate: RateReport | None = None
    cache: str | None = None
    # The view's answer was ready before the throttle ran (no I/O needed): the throttle
    # records its usage event (a 200) in the same script call that admits it.
    prepared: bool = False
    error_code: str | None = None


_ATTRIBUTE = "api_context"


def context_attach(request: HttpRequest, request_id: str) -> RequestContext:
    context = RequestContext(request_id=request_id)
    setattr(request, _ATTRIBUTE, context)
    return context


def request_context(request: object) -> RequestContext:
    """The request's context (a DRF ``Request`` reads through to its ``HttpRequest``).
    A request that never passed ``RequestIdMiddleware`` (a unit test calling a view
    directly) gets a fresh one."""
    context = getattr(request, _ATTRIBUTE, None)
    if context is None:
        context = RequestContext(request_id="")
        setattr(request, _ATTRIBUTE, context)
    return context
