"""Test clients that route like ``weatherapi.wsgi.application``: API and probe paths go
through the lean middleware stack, everything else through the full one. Without this,
Django's test client would run every API test on the site stack, which production never
uses for them."""

from __future__ import annotations

from typing import Any

from django.test.client import ClientHandler
from rest_framework.test import ForceAuthClientHandler

from weatherapi.handlers import ApiStackMixin, is_api_stack_path


class _ApiClientHandler(ApiStackMixin, ClientHandler):
    pass


class _ApiForceAuthClientHandler(ApiStackMixin, ForceAuthClientHandler):
    pass


class RoutedClientHandler:
    """Two test handlers behind one: attributes set on it (DRF's ``force_authenticate``
    sets ``_force_user``) reach both."""

    def __init__(self, *, enforce_csrf_checks: bool, force_auth: bool) -> None:
        site, api = (ForceAuthClientHandler, _ApiForceAuthClientHandler) if force_auth else (ClientHandler, _ApiClientHandler)
        object.__setattr__(self, "_site", site(enforce_csrf_checks))
        object.__setattr__(self, "_api", api(enforce_csrf_checks))

    def __call__(self, environ: dict[str, Any]) -> Any:
        handler = self._api if is_api_stack_path(environ.get("PATH_INFO", "")) else self._site
        return handler(environ)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._site, name, value)
        setattr(self._api, name, value)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._site, name)


def routed_api_client() -> Any:
    """A DRF ``APIClient`` routed like the WSGI application (what the ``api_client``
    fixture returns), for tests that need more than one."""
    from rest_framework.test import APIClient

    api = APIClient()
    api.handler = RoutedClientHandler(enforce_csrf_checks=False, force_auth=True)
    return api
