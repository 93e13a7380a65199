"""Logging pieces shared by the app (settings.LOGGING) and gunicorn (gunicorn.conf.py).

* ``RequestIdFilter`` puts the request id on every record. Django's ``django.request``
  logger reports 4xx/5xx *after* the middleware chain has returned, when the request-id
  context variable is already reset: for those records the id is read from the
  ``request`` the record carries (its ``weatherapi.context.RequestContext``).
* ``RedactSecretsFilter`` and the formatters below never let a secret out: an API key is
  cut to its display prefix (``wx_live_AbCdEfGh…``), ``Bearer <token>`` and ``appid=<key>``
  lose the secret, and so do the one-time keys of allauth's links in a path
  (``/accounts/password/reset/key/<uidb36>-<key>/`` keeps the uidb36,
  ``/accounts/confirm-email/<key>/``): a logged reset link is an account takeover; a
  webhook signing secret (``whsec_…``) goes whole. The filter cleans the message and string extras; the formatters clean
  the final line too, which covers tracebacks (an exception message can quote a URL with
  ``appid=``) and anything a library puts on a record.
* ``DropApiClientErrors`` silences ``django.request``'s "Not Found: /v1/…" warnings: the
  access log line (``weatherapi.access_log``) already records every API request with its
  status and error code, so an API 4xx is one line, not two.

This module must not import Django: gunicorn's master loads it from ``logconfig_dict``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

from weatherapi.request_id import get_request_id

REDACTED = "[redacted]"

# wx_live_/wx_test_ + the 8-character display prefix are kept, the rest of the key goes.
_KEY = r"(?P<key>wx_(?:live|test)_[A-Za-z0-9]{8})[A-Za-z0-9]+"
# "Bearer <token>" anywhere (Authorization headers, repr of header dicts, messages).
_BEARER = r"(?P<bearer>\b[Bb][Ee][Aa][Rr][Ee][Rr](?:\s|%20|\+)+)(?!\[redacted\])[^\s\"'&,;}\]\\]+"
# appid=<key> in URLs (the upstream client puts our provider key in the query string).
_APPID = r"(?P<appid>\b[Aa][Pp][Pp][Ii][Dd](?:=|%3[Dd]))(?!\[redacted\])[^\s\"'&,;}\]\\]+"
# allauth's password-reset link: the uidb36 (a user id, no secret) stays, the key goes.
# ``<uidb36>-set-password`` is where allauth redirects after taking the key into the session.
_RESET = r"(?P<reset>reset/key/[0-9A-Za-z]+-)(?!set-password/)(?!\[redacted\])[^/\s\"'?#&,;}\]\\]+"
# allauth's email-confirmation link (its key is ``[-:\w]+``, a colon possibly %3A-encoded).
_CONFIRM = r"(?P<confirm>confirm-email/)(?!\[redacted\])[-:%\w]+"
_BEARER_RE = re.compile(_BEARER)
_RESET_RE = re.compile(_RESET, re.IGNORECASE | re.ASCII)
_CONFIRM_RE = re.compile(_CONFIRM, re.IGNORECASE | re.ASCII)
_APPID_RE = re.compile(_APPID)
_KEY_RE = re.compile(_KEY)
# A webhook signing secret (whsec_ + base64): nothing of it is kept.
_WHSEC_RE = re.compile(r"(?P<whsec>whsec_)(?!\[redacted\])[A-Za-z0-9+/=]+")


def _keep_prefix(match: re.Match[str]) -> str:
    return match.group(1) + REDACTED


def redact(text: str) -> str:
    """The text with every API key, bearer token, ``appid`` value and link key taken out.

    Every log line passes here twice (the filter, then the formatter), so each pattern
    runs only when its literal is in the text (a substring test is far cheaper than a
    regular expression over every access line). The guards are sound: each pattern
    matches only ASCII letters, which ``lower()`` maps to the guard's literal. Bearer and
    appid go first, so a key used as a bearer token or an ``appid`` is removed whole.
    """
    if not text:
        return text
    lowered = text.lower()
    if "bearer" in lowered:
        text = _BEARER_RE.sub(_keep_prefix, text)
    if "appid" in lowered:
        text = _APPID_RE.sub(_keep_prefix, text)
    if "wx_" in text:
        text = _KEY_RE.sub(_keep_prefix, text)
    if "whsec_" in text:
        text = _WHSEC_RE.sub(_keep_prefix, text)
    if "reset/key/" in lowered:
        text = _RESET_RE.sub(_keep_prefix, text)
    if "confirm-email/" in lowered:
        text = _CONFIRM_RE.sub(_keep_prefix, text)
    return text


# Attributes every LogRecord has; anything else on a record is an ``extra``.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class RequestIdFilter(logging.Filter):
    """Puts the request id on every log record, so every line can be joined to a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            request_id = get_request_id()
            if not request_id:
                # django.request logs after RequestIdMiddleware has reset the context var.
                context = getattr(getattr(record, "request", None), "api_context", None)
                request_id = getattr(context, "request_id", None)
            record.request_id = request_id or "-"
        return True


class RedactSecretsFilter(logging.Filter):
    """Redacts keys, bearer tokens, ``appid`` values and link keys from the message and string extras."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = str(record.msg)
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, name, redact(value))
        return True


class DropApiClientErrors(logging.Filter):
    """For ``django.request``: drop 4xx records of API paths (the access line has them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if not isinstance(status, int) or not 400 <= status < 500:
            return True
        path = getattr(getattr(record, "request", None), "path_info", "") or ""
        return not (path.startswith("/v1/") or path == "/v1" or path.startswith("/api/"))


class JsonFormatter(_BaseJsonFormatter):
    """python-json-logger's formatter that redacts the finished line.

    ``request`` (set by Django on ``django.request`` records) is not serialised: its repr
    holds the full URL, query string included.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        reserved = kwargs.pop("reserved_attrs", None)
        if reserved is None:
            from pythonjsonlogger.core import RESERVED_ATTRS

            reserved = [*RESERVED_ATTRS, "request", "server_time"]
        super().__init__(*args, reserved_attrs=reserved, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class PlainFormatter(logging.Formatter):
    """The human format for local development, redacted like the JSON one."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
