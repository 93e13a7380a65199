"""The current request's id, visible to logs and error bodies without passing it around."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# A client-supplied id is echoed only when it cannot inject anything into headers or logs.
_SANE = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")


def sanitize_or_generate(candidate: str | None) -> str:
    if candidate and _SANE.match(candidate):
        return candidate
    return uuid.uuid4().hex


def set_request_id(value: str | None) -> object:
    return _request_id.set(value)


def reset_request_id(token: object) -> None:
    _request_id.reset(token)  # type: ignore[arg-type]


def get_request_id() -> str | None:
    return _request_id.get()
