from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.credentials import Principal
from weatherapi.errors import AuthenticationRequired, PermissionDeniedError


class HasScope(BasePermission):
    """Requires a credential and the view's ``required_scopes`` (API keys hold every scope)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.auth
        if not isinstance(principal, Principal):
            raise AuthenticationRequired()
        missing = set(getattr(view, "required_scopes", ())) - principal.scopes
        if missing:
            raise PermissionDeniedError(f"The token lacks the scope {' '.join(sorted(missing))}.")
        return True
