"""forecasts.services: the rendered body of an answer."""

from __future__ import annotations

import json

import pytest

from forecasts import services
from forecasts.services import WeatherAnswer


@pytest.mark.parametrize("provider", ["openweather", "sandbox"])
@pytest.mark.parametrize(("cached", "stale"), [(True, False), (False, False), (True, True)])
@pytest.mark.parametrize("body", [b'{"temperature":16.5,"location":{"name":"Z\xc3\xbcrich"}}', b"{}"])
def test_render_matches_source(monkeypatch, provider, cached, stale, body):
    """render() formats ``source`` by hand: it must say exactly what source() says."""
    monkeypatch.setattr(services.time, "time", lambda: 1_790_000_123.75)
    answer = WeatherAnswer(body, provider, cached=cached, stale=stale, fetched_at=1_790_000_000.5)
    rendered = json.loads(answer.render())
    assert rendered == {"source": answer.source(), **json.loads(body)}
    assert list(rendered)[0] == "source"
    assert rendered["source"]["age_seconds"] == 123
    assert rendered["source"]["fetched_at"] == "2026-09-21T14:13:20.500000Z"
