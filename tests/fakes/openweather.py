"""A fake OpenWeather HTTP server for tests and benchmarks (stdlib only).

It serves the real OpenWeather paths with the real response shapes::

    GET /data/2.5/weather         lat+lon | q | zip | id, appid, units, lang   ("cod": 200, an int)
    GET /data/2.5/forecast        lat+lon | q | zip | id, appid, units, lang, cnt 1..40
                                  ("cod": "200", a string; 3-hour steps)
    GET /geo/1.0/direct           q=city[,state][,country], limit (1..5, default 5) -> [] if unknown
    GET /geo/1.0/zip              zip=code[,country] (country defaults to US) -> 404 if unknown
    GET /geo/1.0/reverse          lat, lon, limit -> [] over the open sea
    GET /data/2.5/air_pollution   lat, lon ("coord" is a list [lon, lat] here)

Errors, as OpenWeather sends them:

* missing / wrong ``appid`` (checked first, on every data route): 401
  ``{"cod":401,"message":"Invalid API key. Please see https://openweathermap.org/faq#error401 for more info."}``
* unknown ``q`` / ``zip`` / ``id`` on /weather and /forecast: 404 ``{"cod":"404","message":"city not found"}``
* unknown zip on /geo/1.0/zip: 404 ``{"cod":"404","message":"not found"}``
* latitude not a number or outside -90..90: 400 ``{"cod":"400","message":"wrong latitude"}``;
  longitude not a number or outside -180..180: 400 ``{"cod":"400","message":"wrong longitude"}``;
  no location at all: 400 ``{"cod":"400","message":"Nothing to geocode"}``;
  forecast ``cnt`` not an integer or < 1: 400 ``{"cod":"400","message":"cnt is wrong"}``
  (``cnt`` > 40 is capped at 40).
* unknown path: 404 ``{"cod":"404","message":"Internal error"}``.

Units: ``standard`` (Kelvin, also used for an unknown value), ``metric`` (°C), ``imperial``
(°F, wind in mph). Rain and snow are always mm, visibility always metres, pressure hPa.
``lang`` translates ``weather[].description`` (en, de, fr, es, ru, pt_br; others fall back
to en) and, where the place has a ``local_names`` entry for that language, ``name``
(without ``lang`` the name is the gazetteer's default: "Zürich", "Moscow", "São Paulo").

All values are deterministic: "now" is fixed at ``FIXED_NOW`` (2024-06-01 12:00:00 UTC);
temperatures, wind, pressure, humidity, clouds, pollution derive from the coordinates.

Built-in gazetteer and which optional blocks each place has (current weather; the
forecast's ``rain``/``snow`` ``{"3h"}`` blocks appear on every other 3-hour step for the same
places, its ``visibility`` follows the same rule, its ``wind.gust`` is always present):

==========================================  =======  ====  ====  ====  ==========  ========  =====  ===========
place (lat, lon)                            country  rain  snow  gust  visibility  sea/grnd  state  local_names
==========================================  =======  ====  ====  ====  ==========  ========  =====  ===========
London (51.5085, -0.1257)                   GB       yes   -     yes   yes         yes       yes    yes
São Paulo (-23.5475, -46.6361)              BR       -     -     yes   yes         -         yes    yes
Zürich (47.3667, 8.55)                      CH       -     -     yes   yes         yes       -      yes
Moscow / Москва (55.7522, 37.6156)          RU       -     yes   -     yes         yes       -      yes
Tokyo (35.6895, 139.6917)                   JP       -     -     -     -           yes       -      yes
Springfield, Illinois (39.8017, -89.6437)   US       yes   yes   yes   yes         -         yes    -
Springfield, Missouri (37.2153, -93.2982)   US       -     -     -     yes         yes       yes    -
open sea (0.0, -30.0)                       (none)   -     -     yes   yes         yes       n/a    n/a
==========================================  =======  ====  ====  ====  ==========  ========  =====  ===========

("sea/grnd" = ``main.sea_level`` and ``main.grnd_level`` in current weather; the forecast
always has them. Places with snow are below 0 °C.)

* Moscow's ``name`` is "Moscow"; ``q=Москва`` matches through ``local_names`` and
  ``lang=ru`` answers ``"name": "Москва"``. Matching ignores case and accents
  ("Sao Paulo", "zurich", "MOSCOW" all work); country "UK" is accepted for GB; a US state
  may be given by name or code ("Springfield,IL,US").
* ``q=Springfield`` (or "Springfield,US") resolves to Illinois on /weather; /geo/1.0/direct
  returns both Springfields.
* Zip codes: London "SW1A,GB", São Paulo "01000-000,BR", Zürich "8001,CH",
  Moscow "101000,RU", Tokyo "100-0001,JP", Springfield IL "62701" (US default),
  Springfield MO "65806,US".
* City ids (``id=``): London 2643743, São Paulo 3448439, Zürich 2657896, Moscow 524901,
  Tokyo 1850147, Springfield IL 4250542, Springfield MO 4409896.
* Any coordinates farther than 0.25° from a gazetteer place are "open sea": ``name`` is
  ``""``, ``sys`` has no ``type``/``id``/``country`` (current weather), the forecast's
  ``city`` has ``"id": 0, "name": "", "country": ""``, reverse geocoding returns ``[]``.
  Besides (0.0, -30.0), their optional blocks come from a hash of the coordinates.

Faults (switch at runtime; the control routes are never faulted nor counted):

* ``latency``: seconds slept before answering (``kind=None`` or ``"latency"``; any other
  kind may carry a latency too);
* ``status``: ``status`` 500/502/503/... with a JSON body, or an nginx-like HTML page with
  ``html=True``; 401 and 429 get OpenWeather's real JSON bodies;
* ``garbage``: 200 ``text/html`` body ``<html>oops``; ``truncated``: 200
  ``application/json`` with the first half of the real JSON;
* ``drop``: the connection is closed without any response;
* ``times=N`` applies the fault to the next N matching requests only; ``None`` = until
  cleared. ``path_prefix`` limits it to paths starting with that prefix; setting a fault
  replaces any fault with the same prefix; when several match, the longest prefix wins.

Python API: ``FakeOpenWeather`` (see its docstring). HTTP control for other processes:

* ``POST /__fake__/fault``  JSON ``{"kind","status","latency","times","path_prefix","html"}``
* ``POST /__fake__/clear_faults`` (or ``DELETE /__fake__/fault``)
* ``POST /__fake__/reset``  clears faults *and* call counts / request log
* ``GET  /__fake__/calls``  -> ``{"total": n, "by_path": {path: n}}``
* ``GET  /__fake__/requests`` -> ``{"requests": [{"method","path","query","raw_query"}, ...]}``
* ``GET  /__fake__/faults`` -> ``{"faults": [...]}``; ``GET /__fake__/health`` -> ``{"ok": true}``

``RemoteFakeOpenWeather(url)`` wraps those routes with the same method names.

CLI::

    python -m tests.fakes.openweather --port 0 --api-key fake-key [--latency 0.1] [--host H]

prints ``LISTENING http://127.0.0.1:PORT`` (flushed) and serves until SIGTERM / SIGINT.
``--latency`` is a base latency added to every data request, kept by ``clear_faults``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import signal
import sys
import threading
import time
import unicodedata
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "DEFAULT_API_KEY",
    "FIXED_NOW",
    "GAZETTEER",
    "OPEN_SEA",
    "BODY_401",
    "BODY_429",
    "FakeOpenWeather",
    "RemoteFakeOpenWeather",
    "main",
]

DEFAULT_API_KEY = "fake-key"
FIXED_NOW = 1717243200  # 2024-06-01 12:00:00 UTC
OPEN_SEA = (0.0, -30.0)
CITY_RADIUS_DEG = 0.25

BODY_401 = {
    "cod": 401,
    "message": "Invalid API key. Please see https://openweathermap.org/faq#error401 for more info.",
}
BODY_429 = {
    "cod": 429,
    "message": (
        "Your account is temporary blocked due to exceeding of requests limitation of your "
        "subscription type. Please choose the proper subscription https://openweathermap.org/price"
    ),
}
BODY_CITY_NOT_FOUND = {"cod": "404", "message": "city not found"}
BODY_GEO_NOT_FOUND = {"cod": "404", "message": "not found"}
BODY_UNKNOWN_PATH = {"cod": "404", "message": "Internal error"}
BODY_WRONG_LAT = {"cod": "400", "message": "wrong latitude"}
BODY_WRONG_LON = {"cod": "400", "message": "wrong longitude"}
BODY_NOTHING = {"cod": "400", "message": "Nothing to geocode"}
BODY_BAD_CNT = {"cod": "400", "message": "cnt is wrong"}

FAULT_KINDS = {None, "latency", "status", "garbage", "truncated", "drop"}
CONTROL_PREFIX = "/__fake__/"

# --------------------------------------------------------------------------- gazetteer

GAZETTEER: list[dict[str, Any]] = [
    {
        "id": 2643743,
        "name": "London",
        "lat": 51.5085,
        "lon": -0.1257,
        "country": "GB",
        "state": "England",
        "zip": "SW1A",
        "timezone": 3600,
        "population": 1000000,
        "local_names": {
            "en": "London",
            "de": "London",
            "fr": "Londres",
            "es": "Londres",
            "ru": "Лондон",
            "ja": "ロンドン",
            "pt": "Londres",
        },
        "rain": True,
        "snow": False,
        "gust": True,
        "visibility": True,
        "sea_level": True,
    },
    {
        "id": 3448439,
        "name": "São Paulo",
        "lat": -23.5475,
        "lon": -46.6361,
        "country": "BR",
        "state": "São Paulo",
        "zip": "01000-000",
        "timezone": -10800,
        "population": 10021295,
        "local_names": {
            "pt": "São Paulo",
            "en": "São Paulo",
            "ru": "Сан-Паулу",
            "ja": "サンパウロ",
        },
        "rain": False,
        "snow": False,
        "gust": True,
        "visibility": True,
        "sea_level": False,
    },
    {
        "id": 2657896,
        "name": "Zürich",
        "lat": 47.3667,
        "lon": 8.55,
        "country": "CH",
        "state": None,
        "zip": "8001",
        "timezone": 7200,
        "population": 341730,
        "local_names": {
            "de": "Zürich",
            "en": "Zurich",
            "fr": "Zurich",
            "it": "Zurigo",
            "ru": "Цюрих",
        },
        "rain": False,
        "snow": False,
        "gust": True,
        "visibility": True,
        "sea_level": True,
    },
    {
        "id": 524901,
        "name": "Moscow",
        "lat": 55.7522,
        "lon": 37.6156,
        "country": "RU",
        "state": None,
        "zip": "101000",
        "timezone": 10800,
        "population": 10381222,
        "local_names": {
            "ru": "Москва",
            "en": "Moscow",
            "de": "Moskau",
            "fr": "Moscou",
            "ja": "モスクワ",
        },
        "rain": False,
        "snow": True,
        "gust": False,
        "visibility": True,
        "sea_level": True,
    },
    {
        "id": 1850147,
        "name": "Tokyo",
        "lat": 35.6895,
        "lon": 139.6917,
        "country": "JP",
        "state": None,
        "zip": "100-0001",
        "timezone": 32400,
        "population": 12445327,
        "local_names": {"ja": "東京都", "en": "Tokyo", "ru": "Токио", "de": "Tokio"},
        "rain": False,
        "snow": False,
        "gust": False,
        "visibility": False,
        "sea_level": True,
    },
    {
        "id": 4250542,
        "name": "Springfield",
        "lat": 39.8017,
        "lon": -89.6437,
        "country": "US",
        "state": "Illinois",
        "state_code": "IL",
        "zip": "62701",
        "timezone": -18000,
        "population": 116250,
        "local_names": None,
        "rain": True,
        "snow": True,
        "gust": True,
        "visibility": True,
        "sea_level": False,
    },
    {
        "id": 4409896,
        "name": "Springfield",
        "lat": 37.2153,
        "lon": -93.2982,
        "country": "US",
        "state": "Missouri",
        "state_code": "MO",
        "zip": "65806",
        "timezone": -18000,
        "population": 159498,
        "local_names": None,
        "rain": False,
        "snow": False,
        "gust": False,
        "visibility": True,
        "sea_level": True,
    },
]

_SEA_FLAGS = {
    OPEN_SEA: {"rain": False, "snow": False, "gust": True, "visibility": True, "sea_level": True},
}

_COUNTRY_ALIASES = {"UK": "GB"}

_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "en": {
        "light rain": "light rain",
        "light snow": "light snow",
        "clear sky": "clear sky",
        "scattered clouds": "scattered clouds",
        "overcast clouds": "overcast clouds",
    },
    "de": {
        "light rain": "Leichter Regen",
        "light snow": "Mäßiger Schnee",
        "clear sky": "Klarer Himmel",
        "scattered clouds": "Überwiegend bewölkt",
        "overcast clouds": "Bedeckt",
    },
    "fr": {
        "light rain": "légère pluie",
        "light snow": "légères chutes de neige",
        "clear sky": "ciel dégagé",
        "scattered clouds": "nuageux",
        "overcast clouds": "couvert",
    },
    "es": {
        "light rain": "lluvia ligera",
        "light snow": "nevada ligera",
        "clear sky": "cielo claro",
        "scattered clouds": "nubes dispersas",
        "overcast clouds": "nubes",
    },
    "ru": {
        "light rain": "небольшой дождь",
        "light snow": "небольшой снег",
        "clear sky": "ясно",
        "scattered clouds": "облачно с прояснениями",
        "overcast clouds": "пасмурно",
    },
    "pt_br": {
        "light rain": "chuva leve",
        "light snow": "neve fraca",
        "clear sky": "céu limpo",
        "scattered clouds": "nuvens dispersas",
        "overcast clouds": "nublado",
    },
}
_LANG_ALIASES = {"pt": "pt_br", "ua": "uk", "kr": "ko", "cz": "cs", "se": "sv"}


def _fold(text: str) -> str:
    """Case- and accent-insensitive key ("São Paulo" -> "sao paulo")."""
    decomposed = unicodedata.normalize("NFKD", text.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _hash_int(*parts: Any) -> int:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _place_at(lat: float, lon: float) -> dict[str, Any] | None:
    best, best_d = None, None
    for city in GAZETTEER:
        d = math.hypot(city["lat"] - lat, city["lon"] - lon)
        if d <= CITY_RADIUS_DEG and (best_d is None or d < best_d):
            best, best_d = city, d
    return best


def _flags_for(lat: float, lon: float, city: dict[str, Any] | None) -> dict[str, bool]:
    if city is not None:
        return {k: city[k] for k in ("rain", "snow", "gust", "visibility", "sea_level")}
    key = (round(lat, 4), round(lon, 4))
    if key in _SEA_FLAGS:
        return dict(_SEA_FLAGS[key])
    h = _hash_int("flags", f"{lat:.4f}", f"{lon:.4f}")
    return {
        "rain": h % 4 == 0,
        "snow": abs(lat) > 55 and (h >> 4) % 3 == 0,
        "gust": (h >> 8) % 2 == 0,
        "visibility": (h >> 12) % 5 != 0,
        "sea_level": (h >> 16) % 2 == 0,
    }


def _country_matches(city: dict[str, Any], country: str) -> bool:
    code = country.strip().upper()
    code = _COUNTRY_ALIASES.get(code, code)
    return city["country"] == code


def _state_matches(city: dict[str, Any], state: str) -> bool:
    if not city.get("state"):
        return False
    wanted = _fold(state)
    return wanted in (_fold(city["state"]), _fold(city.get("state_code") or ""))


def _name_matches(city: dict[str, Any], name: str) -> bool:
    wanted = _fold(name)
    names = [city["name"], *(city.get("local_names") or {}).values()]
    return any(wanted == _fold(n) for n in names)


def find_cities(query: str) -> list[dict[str, Any]]:
    """Resolve ``city[,state][,country]`` like OpenWeather's geocoder (gazetteer order)."""
    parts = [p.strip() for p in query.split(",")]
    if not parts or not parts[0]:
        return []
    name, state, country = parts[0], None, None
    if len(parts) == 2:
        country = parts[1]
    elif len(parts) >= 3:
        state, country = parts[1], parts[2]
    found = []
    for city in GAZETTEER:
        if not _name_matches(city, name):
            continue
        if country and not _country_matches(city, country):
            continue
        if state and not _state_matches(city, state):
            continue
        found.append(city)
    return found


def find_zip(value: str) -> dict[str, Any] | None:
    code, _, country = value.partition(",")
    country = country.strip() or "US"
    for city in GAZETTEER:
        if _fold(city["zip"]) == _fold(code) and _country_matches(city, country):
            return city
    return None


def find_id(value: str) -> dict[str, Any] | None:
    for city in GAZETTEER:
        if str(city["id"]) == value.strip():
            return city
    return None


# --------------------------------------------------------------------------- weather model


def _convert_temp(kelvin: float, units: str) -> float:
    if units == "metric":
        return round(kelvin - 273.15, 2)
    if units == "imperial":
        return round((kelvin - 273.15) * 9 / 5 + 32, 2)
    return round(kelvin, 2)


def _convert_speed(ms: float, units: str) -> float:
    return round(ms * 2.236936, 2) if units == "imperial" else round(ms, 2)


def _sun_times(lat: float, lon: float, day_start: int) -> tuple[int, int]:
    """Approximate sunrise/sunset (UTC seconds) for the UTC day starting at day_start."""
    decl = math.radians(22.0)  # early June
    x = -math.tan(math.radians(max(min(lat, 89.0), -89.0))) * math.tan(decl)
    x = max(-1.0, min(1.0, x))
    half_day_h = math.degrees(math.acos(x)) / 15.0
    noon_h = 12.0 - lon / 15.0
    sunrise = day_start + int((noon_h - half_day_h) * 3600)
    sunset = day_start + int((noon_h + half_day_h) * 3600)
    return sunrise, sunset


def _timezone_for(lon: float, city: dict[str, Any] | None) -> int:
    if city is not None:
        return int(city["timezone"])
    return int(round(lon / 15.0)) * 3600


def _condition(flags: dict[str, bool], clouds: int, rain: bool, snow: bool) -> str:
    if snow:
        return "light snow"
    if rain:
        return "light rain"
    if clouds < 10:
        return "clear sky"
    if clouds < 60:
        return "scattered clouds"
    return "overcast clouds"


_CONDITIONS = {
    "light rain": (500, "Rain", "10"),
    "light snow": (600, "Snow", "13"),
    "clear sky": (800, "Clear", "01"),
    "scattered clouds": (802, "Clouds", "03"),
    "overcast clouds": (804, "Clouds", "04"),
}


def _weather_block(key: str, lang: str, is_day: bool) -> list[dict[str, Any]]:
    wid, main, icon = _CONDITIONS[key]
    lang = _LANG_ALIASES.get(lang, lang) or "en"
    description = _DESCRIPTIONS.get(lang, _DESCRIPTIONS["en"])[key]
    return [
        {
            "id": wid,
            "main": main,
            "description": description,
            "icon": icon + ("d" if is_day else "n"),
        }
    ]


def _local_name(city: dict[str, Any] | None, lang: str) -> str:
    """The place's name, localised only when ``lang`` was asked for explicitly."""
    if city is None:
        return ""
    if not lang:
        return city["name"]
    local = city.get("local_names") or {}
    return local.get(lang) or local.get(lang.split("_")[0]) or city["name"]


def _base_sample(lat: float, lon: float, dt: int, flags: dict[str, bool]) -> dict[str, Any]:
    """Physical values (Kelvin, m/s, hPa, %, mm) for a place and time."""
    hour = (dt % 86400) / 3600.0 + lon / 15.0
    diurnal = 3.0 * math.sin(2 * math.pi * (hour - 9.0) / 24.0)
    temp_c = 30.0 - 0.3 * abs(lat) + 2.0 * math.sin(math.radians(lon)) + diurnal
    if flags["snow"]:
        temp_c = min(temp_c, -1.5 + 0.5 * math.sin(math.radians(lon) + dt / 10800.0))
    temp_k = temp_c + 273.15
    h = _hash_int("sample", f"{lat:.4f}", f"{lon:.4f}", dt)
    wind = 1.0 + (h % 800) / 100.0
    return {
        "temp": temp_k,
        "feels_like": temp_k - (wind * 0.4),
        "temp_min": temp_k - 1.2,
        "temp_max": temp_k + 1.4,
        "pressure": 1000 + int(abs(lat * 7 + lon * 3)) % 30,
        "humidity": 40 + int(abs(lat * 3 + lon)) % 55,
        "grnd_level": 990 + int(abs(lat * 7 + lon * 3)) % 30,
        "wind": wind,
        "deg": int(abs(lat * 11 + lon * 13 + dt / 3600)) % 360,
        "gust": round(wind * 1.6 + 0.3, 2),
        "clouds": int(abs(lat * 5 + lon * 2)) % 61 + (40 if flags["rain"] or flags["snow"] else 0),
        "visibility": 10000 if not (flags["rain"] or flags["snow"]) else 6000 + (h >> 20) % 4000,
        "rain": round(0.1 + ((h >> 8) % 300) / 100.0, 2),
        "snow": round(0.1 + ((h >> 12) % 150) / 100.0, 2),
    }


def current_weather(
    lat: float, lon: float, city: dict[str, Any] | None, units: str, lang: str
) -> dict[str, Any]:
    flags = _flags_for(lat, lon, city)
    dt = FIXED_NOW
    s = _base_sample(lat, lon, dt, flags)
    tz = _timezone_for(lon, city)
    sunrise, sunset = _sun_times(lat, lon, dt - dt % 86400)
    is_day = sunrise <= dt < sunset
    key = _condition(flags, s["clouds"], flags["rain"], flags["snow"])
    main: dict[str, Any] = {
        "temp": _convert_temp(s["temp"], units),
        "feels_like": _convert_temp(s["feels_like"], units),
        "temp_min": _convert_temp(s["temp_min"], units),
        "temp_max": _convert_temp(s["temp_max"], units),
        "pressure": s["pressure"],
        "humidity": s["humidity"],
    }
    if flags["sea_level"]:
        main["sea_level"] = s["pressure"]
        main["grnd_level"] = s["grnd_level"]
    body: dict[str, Any] = {
        "coord": {"lon": round(lon, 4), "lat": round(lat, 4)},
        "weather": _weather_block(key, lang, is_day),
        "base": "stations",
        "main": main,
    }
    if flags["visibility"]:
        body["visibility"] = s["visibility"]
    wind: dict[str, Any] = {"speed": _convert_speed(s["wind"], units), "deg": s["deg"]}
    if flags["gust"]:
        wind["gust"] = _convert_speed(s["gust"], units)
    body["wind"] = wind
    if flags["rain"]:
        body["rain"] = {"1h": s["rain"]}
    if flags["snow"]:
        body["snow"] = {"1h": s["snow"]}
    body["clouds"] = {"all": s["clouds"]}
    body["dt"] = dt
    if city is not None:
        body["sys"] = {
            "type": 2,
            "id": 2000000 + city["id"] % 100000,
            "country": city["country"],
            "sunrise": sunrise,
            "sunset": sunset,
        }
    else:
        body["sys"] = {"sunrise": sunrise, "sunset": sunset}
    body["timezone"] = tz
    body["id"] = city["id"] if city is not None else 0
    body["name"] = _local_name(city, lang)
    body["cod"] = 200
    return body


def forecast(
    lat: float, lon: float, city: dict[str, Any] | None, units: str, lang: str, cnt: int
) -> dict[str, Any]:
    flags = _flags_for(lat, lon, city)
    start = FIXED_NOW - FIXED_NOW % 10800 + 10800
    tz = _timezone_for(lon, city)
    items = []
    for i in range(cnt):
        dt = start + i * 10800
        s = _base_sample(lat, lon, dt, flags)
        sunrise, sunset = _sun_times(lat, lon, dt - dt % 86400)
        is_day = (
            sunrise <= dt < sunset
            or sunrise <= dt + 86400 < sunset
            or sunrise <= dt - 86400 < sunset
        )
        wet = i % 2 == 0
        rain, snow = flags["rain"] and wet, flags["snow"] and wet
        key = _condition(flags, s["clouds"], rain, snow)
        item: dict[str, Any] = {
            "dt": dt,
            "main": {
                "temp": _convert_temp(s["temp"], units),
                "feels_like": _convert_temp(s["feels_like"], units),
                "temp_min": _convert_temp(s["temp_min"], units),
                "temp_max": _convert_temp(s["temp_max"], units),
                "pressure": s["pressure"],
                "sea_level": s["pressure"],
                "grnd_level": s["grnd_level"],
                "humidity": s["humidity"],
                "temp_kf": 0,
            },
            "weather": _weather_block(key, lang, is_day),
            "clouds": {"all": s["clouds"]},
            "wind": {
                "speed": _convert_speed(s["wind"], units),
                "deg": s["deg"],
                "gust": _convert_speed(s["gust"], units),
            },
        }
        if flags["visibility"]:
            item["visibility"] = s["visibility"]
        item["pop"] = round(0.3 + (i % 5) / 10.0, 2) if (rain or snow) else 0
        if rain:
            item["rain"] = {"3h": s["rain"]}
        if snow:
            item["snow"] = {"3h": s["snow"]}
        item["sys"] = {"pod": "d" if is_day else "n"}
        item["dt_txt"] = datetime.fromtimestamp(dt, UTC).strftime("%Y-%m-%d %H:%M:%S")
        items.append(item)
    sunrise, sunset = _sun_times(lat, lon, FIXED_NOW - FIXED_NOW % 86400)
    city_block = {
        "id": city["id"] if city else 0,
        "name": _local_name(city, lang),
        "coord": {"lat": round(lat, 4), "lon": round(lon, 4)},
        "country": city["country"] if city else "",
        "population": city["population"] if city else 0,
        "timezone": tz,
        "sunrise": sunrise,
        "sunset": sunset,
    }
    return {"cod": "200", "message": 0, "cnt": cnt, "list": items, "city": city_block}


def geo_entry(city: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": city["name"]}
    if city.get("local_names"):
        entry["local_names"] = dict(city["local_names"])
    entry["lat"] = city["lat"]
    entry["lon"] = city["lon"]
    entry["country"] = city["country"]
    if city.get("state"):
        entry["state"] = city["state"]
    return entry


def air_pollution(lat: float, lon: float) -> dict[str, Any]:
    h = _hash_int("air", f"{lat:.4f}", f"{lon:.4f}")
    city = _place_at(lat, lon)
    scale = 1.0 if city is None else 3.0
    comps = {
        "co": round(150 + (h % 400) * scale, 2),
        "no": round(((h >> 8) % 100) / 10.0 * scale, 2),
        "no2": round(((h >> 16) % 300) / 10.0 * scale, 2),
        "o3": round(40 + ((h >> 24) % 800) / 10.0, 2),
        "so2": round(((h >> 32) % 200) / 10.0 * scale, 2),
        "pm2_5": round(((h >> 40) % 300) / 10.0 * scale, 2),
        "pm10": round(((h >> 48) % 400) / 10.0 * scale, 2),
        "nh3": round(((h >> 56) % 100) / 10.0, 2),
    }
    pm = comps["pm2_5"]
    aqi = 1 if pm < 10 else 2 if pm < 25 else 3 if pm < 50 else 4 if pm < 75 else 5
    return {
        "coord": [round(lon, 4), round(lat, 4)],
        "list": [{"dt": FIXED_NOW, "main": {"aqi": aqi}, "components": comps}],
    }


# --------------------------------------------------------------------------- HTTP layer


class _ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(status)
        self.status = status
        self.body = body


def _html_error(status: int, reason: str) -> bytes:
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>openresty</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True
    fake: FakeOpenWeather

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or go away mid-answer are normal here: stay quiet.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "openresty"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    # -- plumbing
    def _send(
        self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, body: Any) -> None:
        self._send(status, _json_bytes(body), "application/json; charset=utf-8")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    # -- verbs
    def do_GET(self) -> None:  # noqa: N802
        self._dispatch()

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    def _dispatch(self) -> None:
        fake = self.server.fake
        body = self._read_body()
        split = urlsplit(self.path)
        path = split.path
        if path.startswith(CONTROL_PREFIX):
            self._control(path, body)
            return
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        fake._record(self.command, path, query, split.query)
        fault = fake._take_fault(path)
        delay = fake.latency + (fault["latency"] if fault else 0.0)
        if delay > 0 and fake._stopping.wait(delay):
            self.close_connection = True  # server stopping: give up without answering
            return
        kind = fault["kind"] if fault else None
        if kind == "drop":
            self.close_connection = True
            return
        if kind == "status":
            self._fault_status(fault)  # type: ignore[arg-type]
            return
        if kind == "garbage":
            self._send(200, b"<html>oops", "text/html; charset=utf-8")
            return
        status, payload = fake._answer(self.command, path, query)
        data = _json_bytes(payload)
        if kind == "truncated":
            self._send(200, data[: max(1, len(data) // 2)], "application/json; charset=utf-8")
            return
        self._send(status, data, "application/json; charset=utf-8")

    def _fault_status(self, fault: dict[str, Any]) -> None:
        status = fault["status"] or 500
        if status == 401:
            self._send_json(401, BODY_401)
        elif status == 429:
            self._send_json(429, BODY_429)
        else:
            reason = self.responses.get(status, ("Error",))[0]
            if fault.get("html"):
                self._send(status, _html_error(status, reason), "text/html")
            else:
                self._send_json(status, {"cod": status, "message": reason})

    def _control(self, path: str, body: bytes) -> None:
        fake = self.server.fake
        name = path[len(CONTROL_PREFIX) :].strip("/")
        try:
            if name == "fault" and self.command == "POST":
                spec = json.loads(body or b"{}")
                if not isinstance(spec, dict):
                    raise ValueError("fault spec must be a JSON object")
                fake.set_fault(
                    spec.get("kind"),
                    status=spec.get("status"),
                    latency=float(spec.get("latency") or 0.0),
                    times=spec.get("times"),
                    path_prefix=spec.get("path_prefix") or "",
                    html=bool(spec.get("html", False)),
                )
                self._send_json(200, {"ok": True, "faults": fake.faults()})
            elif (name == "fault" and self.command == "DELETE") or (
                name == "clear_faults" and self.command == "POST"
            ):
                fake.clear_faults()
                self._send_json(200, {"ok": True})
            elif name == "reset" and self.command == "POST":
                fake.clear_faults()
                fake.reset_calls()
                self._send_json(200, {"ok": True})
            elif name == "calls" and self.command in ("GET", "HEAD"):
                self._send_json(200, fake.calls_summary())
            elif name == "requests" and self.command in ("GET", "HEAD"):
                self._send_json(200, {"requests": fake.requests})
            elif name == "faults" and self.command in ("GET", "HEAD"):
                self._send_json(200, {"faults": fake.faults()})
            elif name == "health":
                self._send_json(200, {"ok": True})
            else:
                self._send_json(
                    404, {"ok": False, "error": f"no control route {self.command} {path}"}
                )
        except (ValueError, TypeError) as exc:
            self._send_json(400, {"ok": False, "error": str(exc)})


def _parse_coord(query: dict[str, str], required: bool = True) -> tuple[float, float] | None:
    if "lat" not in query and "lon" not in query and not required:
        return None
    if "lat" not in query and "lon" not in query:
        raise _ApiError(400, BODY_NOTHING)
    try:
        lat = float(query.get("lat", ""))
        if not math.isfinite(lat) or not -90 <= lat <= 90:
            raise ValueError
    except ValueError:
        raise _ApiError(400, BODY_WRONG_LAT) from None
    try:
        lon = float(query.get("lon", ""))
        if not math.isfinite(lon) or not -180 <= lon <= 180:
            raise ValueError
    except ValueError:
        raise _ApiError(400, BODY_WRONG_LON) from None
    return lat, lon


def _resolve_location(query: dict[str, str]) -> tuple[float, float, dict[str, Any] | None]:
    coord = _parse_coord(query, required=False)
    if coord is not None:
        lat, lon = coord
        return lat, lon, _place_at(lat, lon)
    city = None
    if query.get("q"):
        found = find_cities(query["q"])
        city = found[0] if found else None
    elif query.get("zip"):
        city = find_zip(query["zip"])
    elif query.get("id"):
        city = find_id(query["id"])
    else:
        raise _ApiError(400, BODY_NOTHING)
    if city is None:
        raise _ApiError(404, BODY_CITY_NOT_FOUND)
    return city["lat"], city["lon"], city


def _limit(query: dict[str, str], default: int = 5) -> int:
    try:
        value = int(query.get("limit") or default)
    except ValueError:
        value = default
    return max(1, min(5, value))


# --------------------------------------------------------------------------- public API


class FakeOpenWeather:
    """In-process fake OpenWeather server (a ``ThreadingHTTPServer`` on a daemon thread).

    ``with FakeOpenWeather() as fake: requests.get(fake.url + "/data/2.5/weather", ...)``

    * ``url`` -- ``http://HOST:PORT`` once started (``port=0`` picks a free port);
    * ``set_fault(kind, status=, latency=, times=, path_prefix=, html=)`` / ``clear_faults()``;
    * ``calls(path=None)`` -- number of data requests (total, or for one exact path);
      ``calls_summary()`` -- ``{"total", "by_path"}``; ``requests`` -- copy of the log of
      ``{"method","path","query","raw_query"}``; ``reset_calls()``;
    * ``latency`` -- base latency (seconds) for every data request, not touched by
      ``clear_faults``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        latency: float = 0.0,
    ):
        self.host = host
        self.port = port
        self.api_key = api_key
        self.latency = float(latency)
        self._lock = threading.Lock()
        self._faults: list[dict[str, Any]] = []
        self._log: list[dict[str, Any]] = []
        self._by_path: Counter[str] = Counter()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- lifecycle
    def start(self) -> FakeOpenWeather:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((self.host, self.port), _Handler)
        server.fake = self
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"fake-openweather-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes handlers sleeping on latency
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOpenWeather:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeOpenWeather is not started")
        host = self.host if self.host not in ("0.0.0.0", "", "::") else "127.0.0.1"  # noqa: S104
        return f"http://{host}:{self.port}"

    # -- faults
    def set_fault(
        self,
        kind: str | None,
        *,
        status: int | None = None,
        latency: float = 0.0,
        times: int | None = None,
        path_prefix: str = "",
        html: bool = False,
    ) -> None:
        """Install a fault for paths starting with ``path_prefix`` (replacing one there).

        ``kind``: None/"latency" (only sleep ``latency``), "status", "garbage", "truncated",
        "drop". ``kind=None`` with ``latency=0`` removes the fault at that prefix.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(
                f"unknown fault kind {kind!r}; expected one of "
                f"{sorted(k for k in FAULT_KINDS if k)} or None"
            )
        if status is not None:
            status = int(status)
            if not 100 <= status <= 599:
                raise ValueError(f"bad status {status}")
            if kind is None:
                kind = "status"
        if kind == "status" and status is None:
            status = 500
        if times is not None:
            times = int(times)
            if times < 1:
                raise ValueError("times must be >= 1 (or None for until cleared)")
        latency = float(latency)
        if latency < 0:
            raise ValueError("latency must be >= 0")
        with self._lock:
            self._faults = [f for f in self._faults if f["path_prefix"] != path_prefix]
            if kind is None and latency == 0:
                return
            self._faults.append(
                {
                    "kind": kind or "latency",
                    "status": status,
                    "latency": latency,
                    "times": times,
                    "path_prefix": path_prefix,
                    "html": html,
                }
            )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults = []

    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(f) for f in self._faults]

    def _take_fault(self, path: str) -> dict[str, Any] | None:
        with self._lock:
            best = None
            for f in self._faults:  # later entries win ties (most recently set)
                if path.startswith(f["path_prefix"]) and (
                    best is None or len(f["path_prefix"]) >= len(best["path_prefix"])
                ):
                    best = f
            if best is None:
                return None
            if best["times"] is not None:
                best["times"] -= 1
                if best["times"] <= 0:
                    self._faults.remove(best)
            return dict(best)

    # -- call accounting
    def _record(self, method: str, path: str, query: dict[str, str], raw: str) -> None:
        with self._lock:
            self._by_path[path] += 1
            self._log.append(
                {
                    "method": method,
                    "path": path,
                    "query": query,
                    "raw_query": raw,
                    "time": time.time(),
                }
            )

    def reset_calls(self) -> None:
        with self._lock:
            self._by_path.clear()
            self._log = []

    def calls(self, path: str | None = None) -> int:
        with self._lock:
            if path is None:
                return sum(self._by_path.values())
            return self._by_path.get(path, 0)

    def calls_summary(self) -> dict[str, Any]:
        with self._lock:
            return {"total": sum(self._by_path.values()), "by_path": dict(self._by_path)}

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r, query=dict(r["query"])) for r in self._log]

    # -- routing
    def _answer(self, method: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
        routes = {
            "/data/2.5/weather": self._weather,
            "/data/2.5/forecast": self._forecast,
            "/geo/1.0/direct": self._direct,
            "/geo/1.0/zip": self._zip,
            "/geo/1.0/reverse": self._reverse,
            "/data/2.5/air_pollution": self._air,
        }
        handler = routes.get(path.rstrip("/") or "/")
        if handler is None or method not in ("GET", "HEAD"):
            return 404, BODY_UNKNOWN_PATH
        if query.get("appid") != self.api_key:
            return 401, BODY_401
        try:
            return 200, handler(query)
        except _ApiError as err:
            return err.status, err.body

    @staticmethod
    def _units(query: dict[str, str]) -> str:
        units = (query.get("units") or "standard").lower()
        return units if units in ("metric", "imperial") else "standard"

    @staticmethod
    def _lang(query: dict[str, str]) -> str:
        return (query.get("lang") or "").lower()

    def _weather(self, query: dict[str, str]) -> Any:
        lat, lon, city = _resolve_location(query)
        return current_weather(lat, lon, city, self._units(query), self._lang(query))

    def _forecast(self, query: dict[str, str]) -> Any:
        lat, lon, city = _resolve_location(query)
        raw = query.get("cnt")
        cnt = 40
        if raw not in (None, ""):
            try:
                cnt = int(raw)  # type: ignore[arg-type]
            except ValueError:
                raise _ApiError(400, BODY_BAD_CNT) from None
            if cnt < 1:
                raise _ApiError(400, BODY_BAD_CNT)
            cnt = min(cnt, 40)
        return forecast(lat, lon, city, self._units(query), self._lang(query), cnt)

    def _direct(self, query: dict[str, str]) -> Any:
        q = query.get("q", "")
        if not q.strip():
            raise _ApiError(400, BODY_NOTHING)
        return [geo_entry(c) for c in find_cities(q)[: _limit(query)]]

    def _zip(self, query: dict[str, str]) -> Any:
        value = query.get("zip", "")
        if not value.strip():
            raise _ApiError(400, BODY_NOTHING)
        city = find_zip(value)
        if city is None:
            raise _ApiError(404, BODY_GEO_NOT_FOUND)
        return {
            "zip": city["zip"],
            "name": city["name"],
            "lat": city["lat"],
            "lon": city["lon"],
            "country": city["country"],
        }

    def _reverse(self, query: dict[str, str]) -> Any:
        lat, lon = _parse_coord(query)  # type: ignore[misc]
        near = sorted(
            (c for c in GAZETTEER if math.hypot(c["lat"] - lat, c["lon"] - lon) <= CITY_RADIUS_DEG),
            key=lambda c: math.hypot(c["lat"] - lat, c["lon"] - lon),
        )
        return [geo_entry(c) for c in near[: _limit(query)]]

    def _air(self, query: dict[str, str]) -> Any:
        lat, lon = _parse_coord(query)  # type: ignore[misc]
        return air_pollution(lat, lon)


class RemoteFakeOpenWeather:
    """Drive a fake running in another process through its ``/__fake__/`` routes."""

    def __init__(self, url: str, timeout: float = 5.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, route: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(
            self.url + CONTROL_PREFIX + route,
            data=data,
            method=method,  # noqa: S310
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
            return json.loads(resp.read() or b"null")

    def set_fault(
        self,
        kind: str | None,
        *,
        status: int | None = None,
        latency: float = 0.0,
        times: int | None = None,
        path_prefix: str = "",
        html: bool = False,
    ) -> None:
        self._call(
            "POST",
            "fault",
            {
                "kind": kind,
                "status": status,
                "latency": latency,
                "times": times,
                "path_prefix": path_prefix,
                "html": html,
            },
        )

    def clear_faults(self) -> None:
        self._call("POST", "clear_faults", {})

    def reset(self) -> None:
        self._call("POST", "reset", {})

    def reset_calls(self) -> None:
        # Over HTTP only the combined reset exists for counters; faults are re-installed.
        faults = self._call("GET", "faults")["faults"]
        self.reset()
        for f in faults:
            self.set_fault(
                f["kind"] if f["kind"] != "latency" else None,
                status=f["status"],
                latency=f["latency"],
                times=f["times"],
                path_prefix=f["path_prefix"],
                html=f["html"],
            )

    def calls(self, path: str | None = None) -> int:
        summary = self._call("GET", "calls")
        return summary["total"] if path is None else summary["by_path"].get(path, 0)

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "requests")["requests"]


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.openweather", description="Fake OpenWeather HTTP server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="base latency in seconds added to every data request",
    )
    args = parser.parse_args(argv)

    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    fake = FakeOpenWeather(
        host=args.host, port=args.port, api_key=args.api_key, latency=args.latency
    ).start()
    print(f"LISTENING {fake.url}", flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
