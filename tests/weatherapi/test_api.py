"""weatherapi.api: query validation by one serializer instance per class and thread."""

from __future__ import annotations

import threading

import pytest
from rest_framework.exceptions import ValidationError

from forecasts.serializers import ForecastQuerySerializer, WeatherQuerySerializer
from weatherapi.api import query_validator


def test_one_instance_per_serializer_class_and_thread():
    mine = query_validator(WeatherQuerySerializer)
    assert query_validator(WeatherQuerySerializer) is mine
    assert query_validator(ForecastQuerySerializer) is not mine
    theirs: list[object] = []
    thread = threading.Thread(target=lambda: theirs.append(query_validator(WeatherQuerySerializer)))
    thread.start()
    thread.join()
    assert theirs[0] is not mine


def test_a_validation_leaves_nothing_behind_for_the_next():
    validator = query_validator(WeatherQuerySerializer)
    with pytest.raises(ValidationError) as refused:
        validator.run_validation({"lat": "95", "lon": "0"})
    assert set(refused.value.detail) == {"lat"}
    first = validator.run_validation({"q": "London,GB", "units": "imperial"})
    second = validator.run_validation({"lat": "51.5", "lon": "-0.12"})
    assert (first["location"].kind, first["units"]) == ("query", "imperial")
    assert "q" not in second and second["units"] == "metric"  # defaults again, not the last query's
    assert (second["lat"], second["lon"]) == (51.5, -0.12)


def test_its_errors_are_those_of_is_valid():
    data = {"lat": "51.5", "q": "Paris", "units": "kelvin"}
    serializer = WeatherQuerySerializer(data=data)
    assert not serializer.is_valid()
    with pytest.raises(ValidationError) as refused:
        query_validator(WeatherQuerySerializer).run_validation(data)
    assert refused.value.detail == serializer.errors
