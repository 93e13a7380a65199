"""pytest plugin: private Redis and PostgreSQL for a run not given REDIS_URL / DATABASE_URL.

Loaded with ``-p tests.support.services_plugin`` (pyproject.toml ``addopts``). Its
``pytest_load_initial_conftests`` runs first (``tryfirst``), before pytest-django's, which
imports weatherapi/settings.py: so the settings, and every gunicorn or manage.py process a
test starts (they inherit ``os.environ``), see the private servers. What it does is in
tests/support/services.py (``PrivateServices``); they are stopped and their directory
deleted when pytest ends, on failure and on Ctrl-C (SIGTERM and SIGHUP are turned into
the same interruption).

When a server could not be started because its binary is missing, the reasons of the
tests that skip for want of it say so (``-rs`` lists them). Set ``REDIS_URL=`` or
``DATABASE_URL=`` (empty) to run without that server; ``-p no:tests.support.services_plugin``
turns the plugin off.
"""

from __future__ import annotations

import atexit
import re
import signal
from collections.abc import Generator
from types import FrameType
from typing import Any

import pytest

from tests.support.services import PrivateServices

_services: PrivateServices | None = None
_old_handlers: dict[int, Any] = {}

# Which skip reasons are about which server.
_NEEDS = {"redis": re.compile(r"redis", re.IGNORECASE), "postgres": re.compile(r"postgres", re.IGNORECASE)}


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _stop() -> None:
    global _services
    if _services is not None:
        _services.stop()
    for signum, handler in _old_handlers.items():
        signal.signal(signum, handler)
    _old_handlers.clear()


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    global _services
    options = early_config.known_args_namespace
    if getattr(options, "help", False) or getattr(options, "version", False):
        return
    _services = PrivateServices()
    atexit.register(_stop)  # in case pytest never gets to its own clean-up
    early_config.add_cleanup(_stop)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) == signal.SIG_DFL:
            _old_handlers[signum] = signal.SIG_DFL
            signal.signal(signum, _interrupt)
    try:
        _services.start()
    except Exception as e:
        raise pytest.UsageError(
            f"could not start a private server for the tests: {e}\n"
            "(set REDIS_URL / DATABASE_URL to use servers of your own, or to an empty value to run without)"
        ) from e


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"services: {note}" for note in (_services.notes if _services else [])]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    missing = _services.missing if _services else {}
    if (missing and report.skipped and not hasattr(report, "wasxfail")
            and isinstance(report.longrepr, tuple) and len(report.longrepr) == 3):
        path, lineno, reason = report.longrepr
        why = [text for name, text in missing.items() if _NEEDS[name].search(reason)]
        if why:
            report.longrepr = (path, lineno, f"{reason} [{'; '.join(why)}]")
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    # The header (not shown under -q) has these lines already; a missing server is repeated.
    if _services and (_services.missing or config.get_verbosity() < 0):
        terminalreporter.write_line("services: " + "; ".join(_services.notes))
