"""django-axes glue for allauth's login form, and the one reading of a client's address."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.http import HttpRequest


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The email a login attempt is for, whichever form made it.

    allauth calls ``authenticate(request, email=..., password=...)`` while its form field is
    ``login``, and the admin's form sends ``username``; axes' ``AXES_USERNAME_FORM_FIELD``
    can name only one key, so with ``login`` alone it would see ``None`` for every allauth
    attempt and lock nobody. Lower-cased so ``A@x.com`` and ``a@x.com`` share one counter.
    """
    value = None
    for key in ("email", "login", "username"):
        if credentials and credentials.get(key):
            value = credentials[key]
            break
    if value is None:
        data = getattr(request, "POST", None) or {}
        value = data.get("login") or data.get("username")
    return str(value).strip().lower() if value else None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: every client-address limit keys on it (axes' lockouts through
    ``AXES_CLIENT_IP_CALLABLE``, allauth's rate limits through the account adapter).

    With ``TRUSTED_PROXY_COUNT`` = N > 0 it is the N-th ``X-Forwarded-For`` entry from the
    right: what the trusted proxies appended (the ALB appends the address it saw). Entries to
    its left are whatever the client sent and are never read, so a spoofed left-most entry
    changes nothing. Without the header (a probe straight to the pod), or with N = 0,
    ``REMOTE_ADDR``. An entry that is not an address means the count does not match the
    proxies in front: ``REMOTE_ADDR`` then, never a client-chosen value.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count <= 0 or not forwarded:
        return remote
    entries = forwarded.split(",")
    if len(entries) < count:
        return remote
    try:
        return str(ipaddress.ip_address(entries[-count].strip()))
    except ValueError:
        return remote
