"""Pytest fixtures for the fake OpenWeather server.

Use from a conftest with ``pytest_plugins = ["tests.fakes.fixtures"]`` or
``from tests.fakes.fixtures import fake_openweather_server, fake_openweather  # noqa: F401``.

* ``fake_openweather_server`` (session): one started ``FakeOpenWeather`` (api key
  ``"fake-key"``) for the whole run, stopped at the end.
* ``fake_openweather`` (function): the same server with faults cleared and call counts /
  request log reset before the test (and faults cleared again after it).

Point the code under test at ``fake_openweather.url`` (base URL without a trailing slash)
and ``fake_openweather.api_key``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.openweather import DEFAULT_API_KEY, FakeOpenWeather


@pytest.fixture(scope="session")
def fake_openweather_server() -> Iterator[FakeOpenWeather]:
    server = FakeOpenWeather(api_key=DEFAULT_API_KEY).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_openweather(fake_openweather_server: FakeOpenWeather) -> Iterator[FakeOpenWeather]:
    fake_openweather_server.clear_faults()
    fake_openweather_server.reset_calls()
    yield fake_openweather_server
    fake_openweather_server.clear_faults()
