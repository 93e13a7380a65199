"""The OpenAPI description of the API, beyond what the views say themselves.

* Security schemes: ``apiKey`` (header ``X-API-Key``) and ``oauth2`` (client credentials
  at ``/o/token/``), each operation listing the scope it needs (``required_scopes``).
* ``postprocess_schema``: the guides (``weatherapi/guides.md``) as the description, the
  ``X-Request-ID`` / ``RateLimit-Policy`` / ``RateLimit`` / ``Retry-After`` /
  ``WWW-Authenticate`` response headers on every ``/v1/`` answer that carries them, and
  the components those refer to.

The guides live next to this module (not under ``docs/``) because the container image
ships the application tree without ``docs/`` (see ``.dockerignore``).

Imported by ``weatherapi.api`` so the extensions are registered before any view's
schema is generated.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from weatherapi.scopes import SCOPES

GUIDES_PATH = Path(__file__).resolve().parent / "guides.md"

API_KEY_SCHEME = "apiKey"
OAUTH2_SCHEME = "oauth2"
TOKEN_URL = "/o/token/"  # noqa: S105 - a URL, not a secret


@lru_cache(maxsize=1)
def guides() -> str:
    return GUIDES_PATH.read_text(encoding="utf-8")


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = API_KEY_SCHEME

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": (
                "An API key from the portal (`/portal/keys/`): `wx_live_...` answers with live "
                "OpenWeather data and is billed; `wx_test_...` answers from the sandbox "
                "(deterministic synthetic data, never billed). A key holds every scope."
            ),
        }


class OAuth2Scheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BearerTokenAuthentication"
    name = OAUTH2_SCHEME

    def get_security_requirement(self, auto_schema: Any) -> dict[str, list[str]]:
        return {self.name: sorted(getattr(auto_schema.view, "required_scopes", ()))}

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "oauth2",
            "description": (
                "OAuth2 client credentials: `POST /o/token/` with "
                "`grant_type=client_credentials` (client id and secret by HTTP Basic or as form "
                "fields), then `Authorization: Bearer <access_token>`. Tokens expire after an hour."
            ),
            "flows": {"clientCredentials": {"tokenUrl": TOKEN_URL, "scopes": dict(SCOPES)}},
        }


# --- Response headers -----------------------------------------------------------------

HEADER_COMPONENTS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": (
            "The id of this request, in every answer and every log line. Yours when you send "
            "a sane `X-Request-ID` (8..128 of `A-Z a-z 0-9 . _ : -`), else a generated one; "
            "quote it when you contact support."
        ),
        "schema": {"type": "string", "minLength": 8, "maxLength": 128, "example": "4f1c2a9e0b7d4c51a3e8f6b2d9c0e1a7"},
    },
    "RateLimit-Policy": {
        "description": (
            "The limits of your plan (draft-ietf-httpapi-ratelimit-headers): `q` requests per "
            "window of `w` seconds, for the per-minute burst and the monthly quota."
        ),
        "schema": {"type": "string", "example": '"minute";q=60;w=60, "month";q=1000000;w=2592000'},
    },
    "RateLimit": {
        "description": (
            "The policy closest to exhaustion: `r` requests remaining, `t` seconds until its "
            "window resets."
        ),
        "schema": {"type": "string", "example": '"minute";r=59;t=42'},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1, "example": 42},
    },
    "WWW-Authenticate": {
        "description": "The authentication schemes this API accepts.",
        "schema": {"type": "string", "example": 'ApiKey header="X-API-Key"'},
    },
}


def _headers_for(status: str) -> dict[str, dict[str, Any]]:
    """Which headers a /v1/ answer with this status carries (and always carries).

    * ``X-Request-ID``: every answer.
    * ``RateLimit-Policy``/``RateLimit``: every answer to a resolved credential, so not a
      401; a 503 may come before the credential is resolved, so there they may be absent.
    * ``Retry-After``: always on a 429, usually on a 503/504.
    """
    code = int(status) if status.isdigit() else 0
    headers: dict[str, dict[str, Any]] = {"X-Request-ID": _header("X-Request-ID", True)}
    if code != 401:
        always = code < 500
        headers["RateLimit-Policy"] = _header("RateLimit-Policy", always)
        headers["RateLimit"] = _header("RateLimit", always)
    if code == 429:
        headers["Retry-After"] = _header("Retry-After", True)
    elif code >= 503:
        headers["Retry-After"] = _header("Retry-After", False)
    if code == 401:
        headers["WWW-Authenticate"] = _header("WWW-Authenticate", True)
    return headers


def _header(name: str, required: bool) -> dict[str, Any]:
    return {**HEADER_COMPONENTS[name], "required": required}


def postprocess_schema(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOKS entry (after the enum hook)."""
    result.setdefault("info", {})["description"] = guides()
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in item.items():
            if method not in {"get", "put", "post", "patch", "delete", "head", "options"}:
                continue
            for parameter in operation.get("parameters", []):
                if "example" not in parameter and "examples" not in parameter:
                    if parameter.get("name") in PARAMETER_EXAMPLES:
                        parameter["example"] = PARAMETER_EXAMPLES[parameter["name"]]
            for status, response in operation.get("responses", {}).items():
                headers = response.setdefault("headers", {})
                for name, header in _headers_for(status).items():
                    headers.setdefault(name, header)
    return result


# An example for every query parameter that has none of its own (Swagger UI fills them in).
PARAMETER_EXAMPLES: dict[str, Any] = {
    "lat": 51.5085,
    "lon": -0.1257,
    "q": "London,GB",
    "zip": "SW1A,GB",
    "units": "metric",
    "lang": "en",
    "cnt": 8,
    "limit": 5,
    "start": "2026-11-01",
    "end": "2026-11-30",
}
