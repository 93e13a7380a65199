"""django-axes glue for allauth's login form."""

from __future__ import annotations

from typing import Any

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
