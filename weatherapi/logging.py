from __future__ import annotations

import logging

from weatherapi.request_id import get_request_id


class RequestIdFilter(logging.Filter):
    """Puts the request id on every log record, so every line can be joined to a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = get_request_id() or "-"
        return True
