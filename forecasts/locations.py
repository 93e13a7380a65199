"""Locations as the API accepts them, and their normalized cache identity."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

T = TypeVar("T")

LocationKind = Literal["coords", "query", "zip"]


def normalize_text(value: str) -> str:
    """Casefolded, NFC, single spaces, no blanks around commas: one cache key per place."""
    value = unicodedata.normalize("NFC", value)
    parts = [" ".join(p.split()) for p in value.split(",")]
    return ",".join(p.casefold() for p in parts)


@dataclass(frozen=True, slots=True)
class Location:
    kind: LocationKind
    lat: float | None = None
    lon: float | None = None
    text: str | None = None  # q or zip as given (trimmed)

    @classmethod
    def from_coords(cls, lat: float, lon: float) -> Location:
        return cls(kind="coords", lat=float(lat), lon=float(lon))

    @property
    def cache_token(self) -> str:
        if self.kind == "coords":
            assert self.lat is not None and self.lon is not None  # noqa: S101
            # Two decimals is about 1 km: finer would only defeat the cache.
            return f"c:{self.lat:.2f}:{self.lon:.2f}".replace("-0.00", "0.00")
        assert self.text is not None  # noqa: S101
        return f"{'q' if self.kind == 'query' else 'z'}:{normalize_text(self.text)}"

    @property
    def rounded(self) -> tuple[float, float]:
        assert self.lat is not None and self.lon is not None  # noqa: S101
        return round(self.lat, 2) + 0.0, round(self.lon, 2) + 0.0


def in_language(by_language: Mapping[str, T], lang: str) -> T | None:
    """The entry for OpenWeather language code ``lang``, or for its base language
    (``pt_br`` reads ``pt``); None when neither is there."""
    return by_language.get(lang) or by_language.get(lang.split("_")[0])
