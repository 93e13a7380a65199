"""Synthetic weather that looks like somewhere: plausible, deterministic, not a forecast.

* Temperature: a yearly mean falling with latitude (26 °C at the equator, about 10 °C at
  51°), a seasonal swing that grows with latitude and peaks around 20 July in the north and
  20 January in the south, a daily swing of up to ±4 °C peaking at 15:00 local clock time
  (narrower under clouds), a day-to-day anomaly of up to ±3 °C. Elevation and coasts are
  ignored.
* The day's character (wet or dry, windy or calm) comes from a hash of (place, local date);
  the conditions of each three-hour slot from a hash of (place, slot); rain turns to snow
  at or below 0.5 °C. "Place" is the coordinates to two decimals, as the cache keys them.
* Sunrise and sunset: NOAA's solar equations (declination and equation of time from the
  fractional year, the sun's centre 0.833° below the horizon), good to a minute or two.
  Between the polar circles' midnight sun and polar night both are ``None``.

Everything is a pure function of its arguments: the same place and time always give the
same numbers, in any process.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime

from forecasts.locations import in_language
from forecasts.providers.sandbox import tables

_DAY = 86_400
_SLOT = 10_800  # three hours, the forecast's step


def fractions(*parts: object) -> tuple[float, ...]:
    """Eight numbers in [0, 1), fixed by ``parts`` (SHA-256, so the same in every process)."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "big") / 2**32 for i in range(0, 32, 4))


@dataclass(frozen=True, slots=True)
class Sun:
    sunrise: int | None  # Unix seconds
    sunset: int | None
    always_up: bool = False  # midnight sun (sunrise and sunset None)

    def is_up(self, dt: int) -> bool:
        if self.sunrise is None or self.sunset is None:
            return self.always_up
        return self.sunrise <= dt < self.sunset


def sun(lat: float, lon: float, day: date) -> Sun:
    """Sunrise and sunset on the local calendar ``day`` at (lat, lon)."""
    gamma = 2 * math.pi / 365 * (day.timetuple().tm_yday - 1)
    eqtime = 229.18 * (0.000075 + 0.001868 * math.cos(gamma) - 0.032077 * math.sin(gamma)
                       - 0.014615 * math.cos(2 * gamma) - 0.040849 * math.sin(2 * gamma))
    decl = (0.006918 - 0.399912 * math.cos(gamma) + 0.070257 * math.sin(gamma)
            - 0.006758 * math.cos(2 * gamma) + 0.000907 * math.sin(2 * gamma)
            - 0.002697 * math.cos(3 * gamma) + 0.00148 * math.sin(3 * gamma))
    phi = math.radians(max(-89.99, min(89.99, lat)))
    cos_ha = math.cos(math.radians(90.833)) / (math.cos(phi) * math.cos(decl)) - math.tan(phi) * math.tan(decl)
    if cos_ha > 1:
        return Sun(None, None, always_up=False)
    if cos_ha < -1:
        return Sun(None, None, always_up=True)
    ha = math.degrees(math.acos(cos_ha))
    midnight = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    sunrise = midnight + round((720 - 4 * (lon + ha) - eqtime) * 60)
    sunset = midnight + round((720 - 4 * (lon - ha) - eqtime) * 60)
    return Sun(sunrise, sunset)


def local_date(dt: int, offset: int) -> date:
    return datetime.fromtimestamp(dt + offset, tz=UTC).date()


@dataclass(frozen=True, slots=True)
class Sample:
    """One moment's weather in SI units (°C, m/s, hPa, %, metres, mm over ``hours``)."""

    temperature: float
    feels_like: float
    temperature_min: float
    temperature_max: float
    humidity: int
    pressure: int
    wind_speed: float
    wind_direction: int
    wind_gust: float | None
    code: int
    icon: str
    clouds: int
    visibility: int
    rain: float | None
    snow: float | None
    precipitation_probability: float


def _seasonal_mean_c(lat: float, dt: int) -> float:
    day_of_year = datetime.fromtimestamp(dt, tz=UTC).timetuple().tm_yday
    yearly = 26 - 0.0062 * lat * lat
    swing = 0.17 * abs(lat) * math.cos(2 * math.pi * (day_of_year - 200) / 365.25)
    return yearly + (swing if lat >= 0 else -swing)


def _feels_like(temp_c: float, humidity: int, wind_ms: float) -> float:
    # The Australian apparent temperature (Steadman), which covers heat and wind chill alike.
    vapour = humidity / 100 * 6.105 * math.exp(17.27 * temp_c / (237.7 + temp_c))
    return temp_c + 0.33 * vapour - 0.70 * wind_ms - 4.00


def sample(lat: float, lon: float, dt: int, *, offset: int, daylight: Sun, hours: int) -> Sample:
    """The weather at (lat, lon) at Unix time ``dt``; ``offset`` is the place's UTC offset
    then, ``hours`` the period that rain and snow amounts cover (1 or 3)."""
    place = f"{lat:.2f},{lon:.2f}"
    day = fractions(place, "day", local_date(dt, offset).isoformat())
    slot = fractions(place, "slot", dt // _SLOT)
    moment = fractions(place, "moment", dt)

    wetness = day[0] ** 1.5  # most days are dry-ish
    wet = slot[0] < 0.6 * wetness * wetness + 0.05 * wetness
    misty = not wet and slot[0] < 0.6 * wetness * wetness + 0.12 * wetness and day[5] < 0.5
    cloud_cover = min(1.0, max(0.0, 0.85 * wetness + (slot[1] - 0.5) * 0.6))
    if wet:
        cloud_cover = 0.8 + 0.2 * slot[1]

    local_hour = ((dt + offset) % _DAY) / 3600
    daily_swing = 4 - 2.5 * cloud_cover
    temp_c = (_seasonal_mean_c(lat, dt) + (day[1] - 0.5) * 6
              + daily_swing * math.cos(2 * math.pi * (local_hour - 15) / 24) + (moment[0] - 0.5) * 0.6)

    heavy = slot[2] > 0.7
    rain = snow = None
    if wet and temp_c <= 0.5:
        code = 601 if heavy else 600
        snow = round((1 + 2 * slot[3] if heavy else 0.1 + 0.9 * slot[3]) * hours, 2)
    elif wet:
        code = 501 if heavy else 500
        rain = round((2.5 + 5 * slot[3] if heavy else 0.1 + 2.4 * slot[3]) * hours, 2)
    elif misty:
        code = 701
    else:
        code = 800 if cloud_cover < 0.1 else 801 if cloud_cover < 0.25 else 802 if cloud_cover < 0.5 else 803 if cloud_cover < 0.85 else 804

    wind = 1 + 6 * day[2] + (3 if wet else 0) + 1.5 * slot[4]
    humidity = int(min(100, max(15, 40 + 35 * wetness + (15 if wet or misty else 0)
                                + 10 * math.cos(2 * math.pi * (local_hour - 4) / 24) + 10 * (slot[5] - 0.5))))
    visibility = 10_000
    if misty:
        visibility = 1000 + int(3000 * slot[6])
    elif snow is not None:
        visibility = 1500 + int(3500 * slot[6])
    elif rain is not None:
        visibility = 4000 + int(5000 * slot[6])
    spread = 0.3 + 1.5 * moment[1]
    return Sample(
        temperature=temp_c,
        feels_like=_feels_like(temp_c, humidity, wind),
        temperature_min=temp_c - spread,
        temperature_max=temp_c + 0.5 * spread,
        humidity=humidity,
        pressure=round(1013 + (0.5 - wetness) * 24 + 6 * (day[3] - 0.5)),
        wind_speed=wind,
        wind_direction=int(360 * day[4] + 60 * (slot[6] - 0.5)) % 360,
        wind_gust=wind * (1.3 + 0.4 * slot[7]) if wind > 4 else None,
        code=code,
        icon=tables.CONDITIONS[code][2] + ("d" if daylight.is_up(dt) else "n"),
        clouds=round(100 * cloud_cover) if code != 701 else 40 + int(50 * slot[1]),
        visibility=visibility,
        rain=rain,
        snow=snow,
        precipitation_probability=round(0.6 + 0.4 * slot[3], 2) if wet else round(0.5 * wetness * slot[5], 2),
    )


def condition(code: int, icon: str, lang: str) -> dict[str, object]:
    main, english, _ = tables.CONDITIONS[code]
    descriptions = in_language(tables.DESCRIPTIONS, lang) or {}
    return {"code": code, "main": main, "description": descriptions.get(code, english), "icon": icon}
