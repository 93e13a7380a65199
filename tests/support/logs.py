"""The app's real logging configuration (``settings.LOGGING``: its filters and JSON
formatter) writing at INFO to a stream the test owns, then restored as it was."""

from __future__ import annotations

import copy
import logging
import logging.config
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from django.conf import settings


def _stdout_stream() -> IO[str] | None:
    for handler in logging.getLogger().handlers:
        if handler.get_name() == "stdout":
            return handler.stream  # type: ignore[attr-defined, no-any-return]
    return None


@contextmanager
def app_logs_to(stream: IO[str]) -> Iterator[None]:
    original = _stdout_stream()
    config = copy.deepcopy(settings.LOGGING)
    config["handlers"]["stdout"]["stream"] = stream
    config["handlers"]["stdout"]["formatter"] = "json"
    config["root"]["level"] = "INFO"
    logging.config.dictConfig(config)
    try:
        yield
    finally:
        restore = copy.deepcopy(settings.LOGGING)
        if original is not None:
            restore["handlers"]["stdout"]["stream"] = original
        logging.config.dictConfig(restore)
