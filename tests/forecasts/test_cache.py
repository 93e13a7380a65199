"""forecasts.cache: the per-process copies in front of the shared cache."""

from __future__ import annotations

import sys
import threading

import pytest

from forecasts.cache import LocalCopies, NotLocal, get_or_fetch, local_only


def entry(fresh_until: float) -> tuple[float, float, bytes]:
    return (0.0, fresh_until, b"{}")


def test_a_copy_lives_until_its_ttl_or_the_local_limit_whichever_is_first(settings):
    settings.CACHE_LOCAL_SECONDS = 60
    copies = LocalCopies()
    copies.put("short", entry(fresh_until=1_010.0), now=1_000.0)
    copies.put("long", entry(fresh_until=9_999.0), now=1_000.0)
    assert copies.get("short", 1_009.9) is not None and copies.get("short", 1_010.0) is None
    assert copies.get("long", 1_059.9) is not None and copies.get("long", 1_060.0) is None


def test_copies_are_bounded_oldest_first_and_can_be_off(settings):
    settings.CACHE_LOCAL_ENTRIES = 3
    copies = LocalCopies()
    for n in range(5):
        copies.put(f"k{n}", entry(fresh_until=2_000.0), now=1_000.0)
    assert [copies.get(f"k{n}", 1_000.0) is not None for n in range(5)] == [False, False, True, True, True]
    settings.CACHE_LOCAL_ENTRIES = 0
    off = LocalCopies()
    off.put("k", entry(fresh_until=2_000.0), now=1_000.0)
    assert off.get("k", 1_000.0) is None


def test_concurrent_puts_and_gets_never_raise(settings):
    # Thread switches as often as the interpreter allows, so an unlocked read-modify-write
    # between get() and put() shows up as a KeyError or a RuntimeError.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    settings.CACHE_LOCAL_ENTRIES = 8
    settings.CACHE_LOCAL_SECONDS = 60
    copies = LocalCopies()
    errors: list[BaseException] = []

    def churn(offset: int) -> None:
        try:
            for n in range(20_000):
                key = f"k{(n + offset) % 50}"
                copies.put(key, entry(fresh_until=1_000.0 + n % 3), now=1_000.0)
                copies.get(key, 1_001.0)
        except BaseException as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=churn, args=(i,)) for i in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(previous)
    assert errors == []


def test_local_only_raises_instead_of_reading_the_shared_cache_and_reports_hits():
    def fetch() -> dict[str, int]:
        raise AssertionError("no upstream call inside local_only")

    with local_only(), pytest.raises(NotLocal):
        get_or_fetch("wx:test:local-only", ttl=600, endpoint="current", fetch=lambda: {"a": 1})
    # Outside: the ordinary path fetches and keeps a copy; inside, the copy answers.
    assert get_or_fetch("wx:test:local-only", ttl=600, endpoint="current", fetch=lambda: {"a": 1}).cached is False
    with local_only() as hits:
        body = get_or_fetch("wx:test:local-only", ttl=600, endpoint="current", fetch=fetch)
    assert body.cached is True and body.body == b'{"a":1}'
    assert hits == ["current"]
