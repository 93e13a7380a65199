"""Self-tests of the fake OpenWeather server, over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.fakes.openweather import (
    BODY_401,
    BODY_429,
    FIXED_NOW,
    FakeOpenWeather,
    RemoteFakeOpenWeather,
)

# Registers the fixtures once, even when the main conftest also lists this plugin.
pytest_plugins = ["tests.fakes.fixtures"]

KEY = "fake-key"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def get(http, fake, path, timeout=5, **params):
    params.setdefault("appid", KEY)
    return http.get(fake.url + path, params=params, timeout=timeout)


# --------------------------------------------------------------------------- /data/2.5/weather


def test_weather_by_coordinates_shape(http, fake_openweather):
    r = get(http, fake_openweather, "/data/2.5/weather", lat=51.5085, lon=-0.1257)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["cod"] == 200 and isinstance(body["cod"], int)
    assert set(body) >= {
        "coord",
        "weather",
        "base",
        "main",
        "wind",
        "clouds",
        "dt",
        "sys",
        "timezone",
        "id",
        "name",
        "cod",
    }
    assert body["coord"] == {"lon": -0.1257, "lat": 51.5085}
    assert set(body["weather"][0]) == {"id", "main", "description", "icon"}
    assert {"temp", "feels_like", "temp_min", "temp_max", "pressure", "humidity"} <= set(
        body["main"]
    )
    assert body["name"] == "London"
    assert body["sys"]["country"] == "GB"
    assert set(body["sys"]) == {"type", "id", "country", "sunrise", "sunset"}
    assert body["sys"]["sunrise"] < body["sys"]["sunset"]
    assert body["timezone"] == 3600
    assert body["dt"] == FIXED_NOW
    assert body["id"] == 2643743


def test_weather_london_has_rain_gust_visibility(http, fake_openweather):
    body = get(http, fake_openweather, "/data/2.5/weather", q="London,GB").json()
    assert "1h" in body["rain"]
    assert "snow" not in body
    assert "gust" in body["wind"]
    assert isinstance(body["visibility"], int)
    assert "sea_level" in body["main"] and "grnd_level" in body["main"]
    assert body["weather"][0]["main"] == "Rain"


def test_weather_tokyo_has_no_gust_no_visibility(http, fake_openweather):
    body = get(http, fake_openweather, "/data/2.5/weather", q="Tokyo").json()
    assert body["name"] == "Tokyo"
    assert "gust" not in body["wind"]
    assert "visibility" not in body
    assert "rain" not in body and "snow" not in body


def test_weather_moscow_has_snow_and_unicode(http, fake_openweather):
    body = get(http, fake_openweather, "/data/2.5/weather", q="Москва", units="metric").json()
    assert body["name"] == "Moscow"
    assert "1h" in body["snow"]
    assert "rain" not in body
    assert "gust" not in body["wind"]
    assert body["main"]["temp"] < 0
    ru = get(http, fake_openweather, "/data/2.5/weather", q="Moscow,RU", lang="ru")
    assert ru.json()["name"] == "Москва"
    assert ru.json()["weather"][0]["description"] == "небольшой снег"
    assert "Москва".encode() in ru.content  # raw UTF-8, not \u escapes


def test_weather_sao_paulo_without_sea_level(http, fake_openweather):
    for q in ("São Paulo", "sao paulo,br"):
        body = get(http, fake_openweather, "/data/2.5/weather", q=q).json()
        assert body["name"] == "São Paulo"
        assert body["sys"]["country"] == "BR"
        assert "sea_level" not in body["main"] and "grnd_level" not in body["main"]
        assert "rain" not in body and "snow" not in body


def test_weather_zurich_unicode_name(http, fake_openweather):
    body = get(http, fake_openweather, "/data/2.5/weather", q="Zurich,CH").json()
    assert body["name"] == "Zürich"
    assert body["timezone"] == 7200


def test_weather_open_sea_has_empty_name_and_no_country(http, fake_openweather):
    body = get(http, fake_openweather, "/data/2.5/weather", lat=0, lon=-30).json()
    assert body["name"] == ""
    assert "country" not in body["sys"]
    assert body["cod"] == 200
    assert "gust" in body["wind"] and "visibility" in body


def test_weather_by_zip_and_id(http, fake_openweather):
    assert (
        get(http, fake_openweather, "/data/2.5/weather", zip="62701").json()["name"]
        == "Springfield"
    )
    body = get(http, fake_openweather, "/data/2.5/weather", zip="SW1A,GB").json()
    assert body["name"] == "London"
    assert get(http, fake_openweather, "/data/2.5/weather", id="1850147").json()["name"] == "Tokyo"


def test_weather_units(http, fake_openweather):
    std = get(http, fake_openweather, "/data/2.5/weather", q="London").json()
    met = get(http, fake_openweather, "/data/2.5/weather", q="London", units="metric").json()
    imp = get(http, fake_openweather, "/data/2.5/weather", q="London", units="imperial").json()
    assert std["main"]["temp"] == pytest.approx(met["main"]["temp"] + 273.15, abs=0.02)
    assert imp["main"]["temp"] == pytest.approx(met["main"]["temp"] * 9 / 5 + 32, abs=0.02)
    assert 250 < std["main"]["temp"] < 320
    assert met["wind"]["speed"] == std["wind"]["speed"]
    assert imp["wind"]["speed"] == pytest.approx(met["wind"]["speed"] * 2.236936, abs=0.02)
    # precipitation, visibility and pressure do not follow units
    assert imp["rain"] == met["rain"] == std["rain"]
    assert imp["visibility"] == met["visibility"]
    assert imp["main"]["pressure"] == met["main"]["pressure"]


def test_weather_is_deterministic(http, fake_openweather):
    a = get(http, fake_openweather, "/data/2.5/weather", lat=12.34, lon=56.78).json()
    b = get(http, fake_openweather, "/data/2.5/weather", lat=12.34, lon=56.78).json()
    c = get(http, fake_openweather, "/data/2.5/weather", lat=-12.34, lon=56.78).json()
    assert a == b
    assert a != c


def test_weather_errors(http, fake_openweather):
    r = get(http, fake_openweather, "/data/2.5/weather", q="Atlantis")
    assert r.status_code == 404
    assert r.json() == {"cod": "404", "message": "city not found"}
    r = get(http, fake_openweather, "/data/2.5/weather", zip="00000,US")
    assert r.status_code == 404 and r.json()["cod"] == "404"
    for lat in ("91", "-90.5", "abc", "nan"):
        r = get(http, fake_openweather, "/data/2.5/weather", lat=lat, lon=0)
        assert r.status_code == 400
        assert r.json() == {"cod": "400", "message": "wrong latitude"}
    r = get(http, fake_openweather, "/data/2.5/weather", lat=0, lon=181)
    assert r.status_code == 400 and r.json() == {"cod": "400", "message": "wrong longitude"}
    r = get(http, fake_openweather, "/data/2.5/weather")
    assert r.status_code == 400 and r.json()["message"] == "Nothing to geocode"


def test_invalid_or_missing_appid_is_401(http, fake_openweather):
    r = get(http, fake_openweather, "/data/2.5/weather", q="London", appid="wrong")
    assert r.status_code == 401
    assert r.json() == BODY_401
    assert isinstance(r.json()["cod"], int)
    r = http.get(fake_openweather.url + "/data/2.5/forecast", params={"q": "London"}, timeout=5)
    assert r.status_code == 401 and r.json() == BODY_401
    for path in ("/geo/1.0/direct", "/geo/1.0/zip", "/geo/1.0/reverse", "/data/2.5/air_pollution"):
        assert http.get(fake_openweather.url + path, timeout=5).status_code == 401


def test_configurable_api_key(http):
    with FakeOpenWeather(api_key="other-key") as fake:
        assert get(http, fake, "/data/2.5/weather", q="London").status_code == 401
        assert (
            get(http, fake, "/data/2.5/weather", q="London", appid="other-key").status_code == 200
        )


def test_unknown_path_is_404(http, fake_openweather):
    r = get(http, fake_openweather, "/data/3.0/onecall", lat=1, lon=1)
    assert r.status_code == 404


# --------------------------------------------------------------------------- /data/2.5/forecast


def test_forecast_shape(http, fake_openweather):
    r = get(http, fake_openweather, "/data/2.5/forecast", q="London", units="metric")
    assert r.status_code == 200
    body = r.json()
    assert body["cod"] == "200" and isinstance(body["cod"], str)
    assert body["message"] == 0
    assert body["cnt"] == 40 == len(body["list"])
    first, second = body["list"][0], body["list"][1]
    assert second["dt"] - first["dt"] == 10800
    assert first["dt"] > FIXED_NOW and first["dt"] % 10800 == 0
    assert first["dt_txt"] == "2024-06-01 15:00:00"
    assert {"dt", "main", "weather", "clouds", "wind", "visibility", "pop", "sys", "dt_txt"} <= set(
        first
    )
    assert {"speed", "deg", "gust"} == set(first["wind"])
    assert first["sys"]["pod"] in ("d", "n")
    assert "3h" in first["rain"]
    assert "rain" not in second  # every other step is dry
    assert 0 <= first["pop"] <= 1
    city = body["city"]
    assert set(city) == {
        "id",
        "name",
        "coord",
        "country",
        "population",
        "timezone",
        "sunrise",
        "sunset",
    }
    assert city["name"] == "London" and city["country"] == "GB"
    assert city["coord"] == {"lat": 51.5085, "lon": -0.1257}


def test_forecast_cnt_units_and_optional_blocks(http, fake_openweather):
    body = get(
        http, fake_openweather, "/data/2.5/forecast", lat=35.6895, lon=139.6917, cnt=3
    ).json()
    assert body["cnt"] == 3 == len(body["list"])
    assert all("visibility" not in item for item in body["list"])
    assert all("rain" not in item and "snow" not in item for item in body["list"])
    assert all(item["main"]["temp"] > 200 for item in body["list"])  # Kelvin by default
    moscow = get(http, fake_openweather, "/data/2.5/forecast", q="Москва", cnt=2, lang="ru").json()
    assert "3h" in moscow["list"][0]["snow"]
    assert moscow["city"]["name"] == "Москва"
    assert get(http, fake_openweather, "/data/2.5/forecast", q="Tokyo", cnt=99).json()["cnt"] == 40
    r = get(http, fake_openweather, "/data/2.5/forecast", q="Tokyo", cnt=0)
    assert r.status_code == 400
    r = get(http, fake_openweather, "/data/2.5/forecast", q="Nowhere-at-all")
    assert r.status_code == 404 and r.json() == {"cod": "404", "message": "city not found"}
    sea = get(http, fake_openweather, "/data/2.5/forecast", lat=0, lon=-30, cnt=1).json()
    assert sea["city"]["name"] == "" and sea["city"]["country"] == ""


# --------------------------------------------------------------------------- geocoding


def test_geo_direct(http, fake_openweather):
    r = get(http, fake_openweather, "/geo/1.0/direct", q="London", limit=1)
    assert r.status_code == 200
    [london] = r.json()
    assert london["name"] == "London" and london["country"] == "GB"
    assert london["local_names"]["fr"] == "Londres"
    assert london["state"] == "England"
    both = get(http, fake_openweather, "/geo/1.0/direct", q="Springfield,US", limit=5).json()
    assert [c["state"] for c in both] == ["Illinois", "Missouri"]
    assert all("local_names" not in c for c in both)
    one = get(http, fake_openweather, "/geo/1.0/direct", q="Springfield,MO,US").json()
    assert [c["state"] for c in one] == ["Missouri"]
    assert len(get(http, fake_openweather, "/geo/1.0/direct", q="Springfield", limit=1).json()) == 1
    moscow = get(http, fake_openweather, "/geo/1.0/direct", q="Москва").json()
    assert moscow[0]["name"] == "Moscow" and moscow[0]["local_names"]["ru"] == "Москва"
    assert "state" not in moscow[0]
    assert get(http, fake_openweather, "/geo/1.0/direct", q="Zürich").json()[0]["country"] == "CH"
    assert get(http, fake_openweather, "/geo/1.0/direct", q="Atlantis").json() == []
    assert get(http, fake_openweather, "/geo/1.0/direct", q="London,FR").json() == []


def test_geo_zip(http, fake_openweather):
    r = get(http, fake_openweather, "/geo/1.0/zip", zip="8001,CH")
    assert r.status_code == 200
    assert r.json() == {
        "zip": "8001",
        "name": "Zürich",
        "lat": 47.3667,
        "lon": 8.55,
        "country": "CH",
    }
    r = get(http, fake_openweather, "/geo/1.0/zip", zip="99999,US")
    assert r.status_code == 404
    assert r.json() == {"cod": "404", "message": "not found"}


def test_geo_reverse(http, fake_openweather):
    r = get(http, fake_openweather, "/geo/1.0/reverse", lat=35.69, lon=139.69, limit=1)
    assert r.status_code == 200
    [tokyo] = r.json()
    assert tokyo["name"] == "Tokyo" and tokyo["local_names"]["ja"] == "東京都"
    assert get(http, fake_openweather, "/geo/1.0/reverse", lat=0, lon=-30).json() == []
    r = get(http, fake_openweather, "/geo/1.0/reverse", lat="x", lon=0)
    assert r.status_code == 400 and r.json()["message"] == "wrong latitude"


def test_air_pollution(http, fake_openweather):
    r = get(http, fake_openweather, "/data/2.5/air_pollution", lat=51.5085, lon=-0.1257)
    assert r.status_code == 200
    body = r.json()
    assert body["coord"] == [-0.1257, 51.5085]
    [entry] = body["list"]
    assert 1 <= entry["main"]["aqi"] <= 5
    assert set(entry["components"]) == {"co", "no", "no2", "o3", "so2", "pm2_5", "pm10", "nh3"}
    assert entry["dt"] == FIXED_NOW
    r = get(http, fake_openweather, "/data/2.5/air_pollution", lat=100, lon=0)
    assert r.status_code == 400


# --------------------------------------------------------------------------- faults


def test_fault_latency_all_routes_and_prefix(http, fake_openweather):
    fake_openweather.set_fault(None, latency=0.3)
    t0 = time.monotonic()
    assert get(http, fake_openweather, "/data/2.5/weather", q="London").status_code == 200
    assert time.monotonic() - t0 >= 0.3
    fake_openweather.set_fault(None, latency=0.0)  # removes the latency at prefix ""
    fake_openweather.set_fault("latency", latency=0.3, path_prefix="/geo/")
    t0 = time.monotonic()
    get(http, fake_openweather, "/data/2.5/weather", q="London")
    assert time.monotonic() - t0 < 0.25
    t0 = time.monotonic()
    get(http, fake_openweather, "/geo/1.0/direct", q="London")
    assert time.monotonic() - t0 >= 0.3
    with pytest.raises(requests.exceptions.ReadTimeout):
        get(http, fake_openweather, "/geo/1.0/direct", q="London", timeout=0.1)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_fault_status_json_and_html(http, fake_openweather, status):
    fake_openweather.set_fault("status", status=status, times=1)
    r = get(http, fake_openweather, "/data/2.5/weather", q="London")
    assert r.status_code == status
    assert r.json()["cod"] == status
    assert get(http, fake_openweather, "/data/2.5/weather", q="London").status_code == 200
    fake_openweather.set_fault("status", status=status, html=True)
    r = get(http, fake_openweather, "/data/2.5/weather", q="London")
    assert r.status_code == status
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.text.startswith("<html>") and str(status) in r.text
    with pytest.raises(ValueError):
        r.json()


def test_fault_429_and_401_real_bodies(http, fake_openweather):
    fake_openweather.set_fault("status", status=429)
    r = get(http, fake_openweather, "/data/2.5/forecast", q="London")
    assert r.status_code == 429 and r.json() == BODY_429
    assert r.json()["message"].endswith("https://openweathermap.org/price")
    fake_openweather.set_fault("status", status=401)
    r = get(http, fake_openweather, "/data/2.5/weather", q="London")
    assert r.status_code == 401 and r.json() == BODY_401


def test_fault_garbage_and_truncated(http, fake_openweather):
    fake_openweather.set_fault("garbage", times=1)
    r = get(http, fake_openweather, "/data/2.5/weather", q="London")
    assert r.status_code == 200 and r.text == "<html>oops"
    with pytest.raises(ValueError):
        r.json()
    fake_openweather.set_fault("truncated", times=1)
    r = get(http, fake_openweather, "/data/2.5/weather", q="London")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    assert r.text.startswith('{"coord"')
    with pytest.raises(ValueError):
        r.json()
    assert get(http, fake_openweather, "/data/2.5/weather", q="London").json()["cod"] == 200


def test_fault_drop(http, fake_openweather):
    fake_openweather.set_fault("drop", times=2)
    for _ in range(2):
        with pytest.raises(requests.exceptions.ConnectionError):
            get(http, fake_openweather, "/data/2.5/weather", q="London")
    assert get(http, fake_openweather, "/data/2.5/weather", q="London").status_code == 200
    assert fake_openweather.calls() == 3  # dropped requests still reached "upstream"


def test_fault_times_and_until_cleared_and_prefix_priority(http, fake_openweather):
    fake_openweather.set_fault("status", status=503, times=3)
    codes = [
        get(http, fake_openweather, "/data/2.5/weather", q="London").status_code for _ in range(5)
    ]
    assert codes == [503, 503, 503, 200, 200]
    fake_openweather.set_fault("status", status=500)
    fake_openweather.set_fault("status", status=502, path_prefix="/data/2.5/forecast")
    for _ in range(3):
        assert get(http, fake_openweather, "/data/2.5/weather", q="London").status_code == 500
        assert get(http, fake_openweather, "/data/2.5/forecast", q="London").status_code == 502
    fake_openweather.clear_faults()
    assert get(http, fake_openweather, "/data/2.5/weather", q="London").status_code == 200
    assert fake_openweather.faults() == []
    with pytest.raises(ValueError):
        fake_openweather.set_fault("explode")


# --------------------------------------------------------------------------- call counting


def test_call_counting_and_request_log(http, fake_openweather):
    assert fake_openweather.calls() == 0
    get(http, fake_openweather, "/data/2.5/weather", q="London", units="metric")
    get(http, fake_openweather, "/data/2.5/weather", q="Tokyo")
    get(http, fake_openweather, "/geo/1.0/direct", q="Tokyo", appid="bad")
    assert fake_openweather.calls() == 3
    assert fake_openweather.calls("/data/2.5/weather") == 2
    assert fake_openweather.calls("/geo/1.0/direct") == 1
    assert fake_openweather.calls("/data/2.5/forecast") == 0
    log = fake_openweather.requests
    assert log[0]["path"] == "/data/2.5/weather"
    assert log[0]["query"] == {"q": "London", "units": "metric", "appid": KEY}
    assert all("appid" in entry["query"] for entry in log)
    fake_openweather.reset_calls()
    assert fake_openweather.calls() == 0 and fake_openweather.requests == []


def test_function_fixture_starts_clean(fake_openweather):
    # runs after tests that left calls behind: the fixture reset them
    assert fake_openweather.calls() == 0
    assert fake_openweather.faults() == []


# --------------------------------------------------------------------------- control routes


def test_http_control_routes(http, fake_openweather):
    url = fake_openweather.url
    r = http.post(
        url + "/__fake__/fault",
        json={"kind": "status", "status": 503, "times": 1, "path_prefix": "/data/"},
        timeout=5,
    )
    assert r.status_code == 200 and r.json()["ok"] is True
    assert get(http, fake_openweather, "/data/2.5/weather", q="London").status_code == 503
    assert get(http, fake_openweather, "/data/2.5/weather", q="London").status_code == 200
    http.post(url + "/__fake__/fault", json={"kind": "drop"}, timeout=5)
    # control routes are neither faulted nor counted
    calls = http.get(url + "/__fake__/calls", timeout=5).json()
    assert calls == {"total": 2, "by_path": {"/data/2.5/weather": 2}}
    log = http.get(url + "/__fake__/requests", timeout=5).json()["requests"]
    assert [e["query"]["appid"] for e in log] == [KEY, KEY]
    assert http.post(url + "/__fake__/clear_faults", timeout=5).json() == {"ok": True}
    assert get(http, fake_openweather, "/data/2.5/weather", q="London").status_code == 200
    http.post(url + "/__fake__/fault", json={"kind": None, "latency": 0.2}, timeout=5)
    assert http.get(url + "/__fake__/faults", timeout=5).json()["faults"][0]["latency"] == 0.2
    assert http.post(url + "/__fake__/reset", timeout=5).json() == {"ok": True}
    assert http.get(url + "/__fake__/calls", timeout=5).json() == {"total": 0, "by_path": {}}
    assert fake_openweather.faults() == []
    r = http.post(url + "/__fake__/fault", json={"kind": "nope"}, timeout=5)
    assert r.status_code == 400
    assert fake_openweather.calls() == 0


def test_remote_client(http, fake_openweather):
    remote = RemoteFakeOpenWeather(fake_openweather.url)
    remote.set_fault("status", status=429, times=1)
    assert get(http, fake_openweather, "/data/2.5/weather", q="London").status_code == 429
    assert remote.calls() == 1 and remote.calls("/data/2.5/weather") == 1
    assert remote.requests[0]["query"]["q"] == "London"
    remote.set_fault("garbage")
    remote.reset_calls()  # keeps faults
    assert remote.calls() == 0
    assert get(http, fake_openweather, "/data/2.5/weather", q="London").text == "<html>oops"
    remote.clear_faults()
    assert get(http, fake_openweather, "/data/2.5/weather", q="London").status_code == 200


# --------------------------------------------------------------------------- transport


def test_keep_alive_reuses_one_connection(fake_openweather):
    with requests.Session() as session:
        for _ in range(5):
            r = session.get(
                fake_openweather.url + "/data/2.5/weather",
                params={"q": "London", "appid": KEY},
                timeout=5,
            )
            assert r.status_code == 200
            assert r.headers.get("Connection", "").lower() != "close"
        pool = next(iter(session.adapters["http://"].poolmanager.pools._container.values()))
        assert pool.num_connections == 1
        assert pool.num_requests == 5


def test_many_concurrent_connections_with_latency(fake_openweather):
    fake_openweather.set_fault(None, latency=0.2)
    local = threading.local()

    def one(i):
        if not hasattr(local, "s"):
            local.s = requests.Session()
        return local.s.get(
            fake_openweather.url + "/data/2.5/weather",
            params={"lat": i % 80, "lon": i % 170, "appid": KEY},
            timeout=10,
        ).status_code

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=100) as pool:
        codes = list(pool.map(one, range(200)))
    elapsed = time.monotonic() - t0
    assert codes == [200] * 200
    assert elapsed < 3.0  # 200 requests x 0.2 s served in parallel
    assert fake_openweather.calls() == 200


def test_stop_is_prompt_even_with_sleeping_handlers():
    fake = FakeOpenWeather().start()
    fake.set_fault(None, latency=30)
    outcome = []

    def call():
        try:
            requests.get(
                fake.url + "/data/2.5/weather", params={"q": "London", "appid": KEY}, timeout=5
            )
            outcome.append("answered")
        except requests.exceptions.RequestException as exc:
            outcome.append(type(exc).__name__)

    t = threading.Thread(target=call, daemon=True)
    t.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    fake.stop()
    t.join(timeout=5)
    assert time.monotonic() - t0 < 2
    assert outcome == ["ConnectionError"]
    with pytest.raises(RuntimeError):
        _ = fake.url


# --------------------------------------------------------------------------- CLI


def test_cli_serves_until_sigterm():
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.openweather",
            "--port",
            "0",
            "--api-key",
            "cli-key",
            "--latency",
            "0.05",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("LISTENING http://127.0.0.1:"), (line, proc.stderr.read())
        url = line.split(" ", 1)[1]
        t0 = time.monotonic()
        r = requests.get(
            url + "/data/2.5/weather", params={"q": "Zürich", "appid": "cli-key"}, timeout=5
        )
        assert time.monotonic() - t0 >= 0.05
        assert r.status_code == 200 and r.json()["name"] == "Zürich"
        assert (
            requests.get(
                url + "/data/2.5/weather", params={"q": "Zürich", "appid": KEY}, timeout=5
            ).status_code
            == 401
        )
        remote = RemoteFakeOpenWeather(url)
        assert remote.calls() == 2
        remote.set_fault("status", status=502, times=1)
        assert (
            requests.get(
                url + "/geo/1.0/direct", params={"q": "Tokyo", "appid": "cli-key"}, timeout=5
            ).status_code
            == 502
        )
        proc.terminate()
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
