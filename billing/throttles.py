"""Plan throttles: the per-minute burst and the monthly quota, in one atomic Redis call.

``PlanThrottle`` is one DRF throttle class for both windows, because both must be checked
and incremented together in a single round trip: a Lua script reads the two counters,
refuses (without counting) when either is exhausted, else increments both. Redis runs a
script atomically, so exactly ``limit`` calls pass a window however many gunicorn
workers and threads race for it. No list of timestamps is kept (the DRF default), so the
cost is the same for a limit of 60 and of 1,000,000.

Windows:

* minute: a fixed window keyed by account and ``floor(epoch / 60)``. A client may send up
  to twice the limit across a window boundary; accepted for its single-key simplicity.
* month: the calendar month in UTC, keyed by account and ``YYYYMM``; the key expires an
  hour after the month ends.

What counts toward the monthly quota (a decision, written down here): every request to a
product endpoint (weather, geocode, air quality) that the throttle admits with a live
credential, whatever its later status. ``/v1/account*`` and test-mode calls count toward
the minute burst only: the sandbox costs no upstream call and is never billed, and a
client must be able to keep testing after using up its live quota. The monthly counter
is therefore an upper bound of the billable count, which is taken from the usage rollups.

Plans with an overage price have no monthly cap (overage is billed), but the counter
still runs and is reported in the rate-limit headers and ``GET /v1/account``.

Without Redis (``REDIS_URL`` unset) or while it fails, a per-process in-memory limiter
with the same windows takes over. It is approximate: each process counts alone, so with
P processes up to P times the limit can pass, and it forgets on restart. Memory is
bounded (``THROTTLE_MEMORY_MAX_KEYS`` accounts, least recently used evicted).

"No unmetered service" (DESIGN §11): when Redis is configured but failing, usage events
must go to the database, so the throttle checks the database answers before the view
runs and answers 503 ``service_unavailable`` when it does not (both stores down). The
metering middleware enforces the same rule after the view for the case where Redis dies
mid-request (see ``billing.middleware``).
"""

from __future__ import annotations

import calendar
import functools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from accounts.credentials import Principal, Stamp, local_forget, resolve_local
from billing.endpoints import is_product_endpoint
from billing.redis_conn import LuaScript, redis_client, redis_failed, script_run
from billing.services.usage import UsageRecord, usage_record_build
from weatherapi.errors import QuotaExceeded, RateLimited, ServiceUnavailable
from weatherapi.metrics import THROTTLE_REJECTIONS, USAGE_EVENTS, labelled

MINUTE_SECONDS = 60
# The draft's window for a month policy, as the contract writes it (30 days); ``t`` in the
# RateLimit header carries the exact seconds to the end of the calendar month.
MONTH_POLICY_SECONDS = 2_592_000

ALLOWED, RATE_LIMITED, QUOTA_EXCEEDED, STALE = 0, 1, 2, 3

# KEYS: minute counter, month counter, credential version token ('' for none), usage stream.
# ARGV: per-minute limit, monthly limit, hard cap (0/1), counts toward month (0/1),
#       minute key ttl, month key expiry (unix time), the token the caller's copy carries,
#       a usage event to record when admitted ('' for none).
# Returns {verdict, minute count, month count, event recorded (0/1)}; a refused call
# increments and records nothing.
# Verdict 3 (STALE): the caller's in-process credential copy is outdated (the token changed
# or vanished): nothing is counted, the caller re-resolves and calls again. Checking it here
# costs no extra round trip (accounts.credentials).
# The event: when the answer is already in hand before the throttle (a weather body this
# process holds), its usage event rides in the same round trip (weatherapi.api). The keys
# span hash slots, as the version token's always did: Redis runs unclustered (ElastiCache
# replication group, terraform/modules/data).
_LUA = """
if KEYS[3] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[7] then
  return {3, 0, 0, 0}
end
local minute = tonumber(redis.call('GET', KEYS[1]) or '0')
local month = tonumber(redis.call('GET', KEYS[2]) or '0')
local counts_month = ARGV[4] == '1'
if counts_month and ARGV[3] == '1' and month >= tonumber(ARGV[2]) then
  return {2, minute, month, 0}
end
if minute >= tonumber(ARGV[1]) then
  return {1, minute, month, 0}
end
minute = redis.call('INCR', KEYS[1])
if minute == 1 then redis.call('EXPIRE', KEYS[1], ARGV[5]) end
if counts_month then
  month = redis.call('INCR', KEYS[2])
  if month == 1 then redis.call('EXPIREAT', KEYS[2], ARGV[6]) end
end
if ARGV[8] ~= '' then
  redis.call('XADD', KEYS[4], '*', 'e', ARGV[8])
  return {0, minute, month, 1}
end
return {0, minute, month, 0}
"""


@dataclass(frozen=True, slots=True)
class RateState:
    """What the throttle saw; the metering middleware turns it into the headers."""

    plan_code: str
    minute_limit: int
    minute_used: int
    minute_reset: int  # seconds until the minute window resets
    month_limit: int
    month_used: int
    month_reset: int  # seconds until the calendar month ends
    hard_cap: bool
    source: str  # "redis" or "memory"
    event_recorded: bool = False  # the usage event went to the stream with the admission

    @property
    def minute_remaining(self) -> int:
        return max(0, self.minute_limit - self.minute_used)

    @property
    def month_remaining(self) -> int:
        return max(0, self.month_limit - self.month_used)


@dataclass(frozen=True, slots=True)
class Windows:
    now: int
    minute_id: int
    minute_reset: int
    month_id: str
    month_end: int  # unix time of the first second of next month

    @classmethod
    def at(cls, now: float) -> Windows:
        minute_id = int(now // MINUTE_SECONDS)
        month_id, month_end = _month_of_minute(minute_id)
        return cls(
            now=int(now),
            minute_id=minute_id,
            minute_reset=max(1, (minute_id + 1) * MINUTE_SECONDS - int(now)),
            month_id=month_id,
            month_end=month_end,
        )


@functools.lru_cache(maxsize=4)
def _month_of_minute(minute_id: int) -> tuple[str, int]:
    """The calendar month (``YYYYMM``, unix time of its end) a minute falls in: computed
    once a minute, not on every request (a minute never spans two months)."""
    moment = datetime.fromtimestamp(minute_id * MINUTE_SECONDS, tz=UTC)
    days = calendar.monthrange(moment.year, moment.month)[1]
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    return f"{moment.year:04d}{moment.month:02d}", int(start.timestamp()) + days * 86400


def _keys(account_id: int, w: Windows) -> tuple[str, str]:
    # The braces are a Redis Cluster hash tag: both keys live on one slot, as a script needs.
    return f"wx:rl:{{a{account_id}}}:m:{w.minute_id}", f"wx:rl:{{a{account_id}}}:q:{w.month_id}"


class MemoryLimiter:
    """The per-process fallback: same windows, approximate (see the module docstring)."""

    def __init__(self, max_keys: int) -> None:
        self.max_keys = max_keys
        self._lock = threading.Lock()
        # account id -> [minute id, minute count, month id, month count]
        self._counters: OrderedDict[int, list[Any]] = OrderedDict()

    def _entry(self, account_id: int, w: Windows) -> list[Any]:
        entry = self._counters.get(account_id)
        if entry is None:
            entry = [w.minute_id, 0, w.month_id, 0]
            self._counters[account_id] = entry
            while len(self._counters) > self.max_keys:
                self._counters.popitem(last=False)
        else:
            self._counters.move_to_end(account_id)
        if entry[0] != w.minute_id:
            entry[0], entry[1] = w.minute_id, 0
        if entry[2] != w.month_id:
            entry[2], entry[3] = w.month_id, 0
        return entry

    def hit(
        self, account_id: int, w: Windows, *, rpm: int, included: int, hard_cap: bool, counts_month: bool
    ) -> tuple[int, int, int]:
        with self._lock:
            entry = self._entry(account_id, w)
            if counts_month and hard_cap and entry[3] >= included:
                return QUOTA_EXCEEDED, entry[1], entry[3]
            if entry[1] >= rpm:
                return RATE_LIMITED, entry[1], entry[3]
            entry[1] += 1
            if counts_month:
                entry[3] += 1
            return ALLOWED, entry[1], entry[3]

    def peek(self, account_id: int, w: Windows) -> tuple[int, int]:
        with self._lock:
            entry = self._entry(account_id, w)
            return entry[1], entry[3]

    def clear(self) -> None:
        with self._lock:
            self._counters.clear()


memory_limiter = MemoryLimiter(settings.THROTTLE_MEMORY_MAX_KEYS)
_SCRIPT = LuaScript(_LUA)


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any failure means the database cannot take events
        connection.close_if_unusable_or_obsolete()
        return False


def limiter_hit(
    *,
    principal: Principal,
    counts_month: bool,
    now: float | None = None,
    stamp: Stamp | None = None,
    event: UsageRecord | None = None,
) -> tuple[int, RateState]:
    """Count one request against both windows. Returns (verdict, state).

    With ``stamp`` (the principal is an in-process copy) the script first checks the
    credential's version token: STALE, counting nothing, when it changed.

    With ``event`` (the answer is known before admission) an admitted call also appends
    the usage event to the stream in the same script; ``state.event_recorded`` says it
    did. When Redis fails nothing is recorded here and the metering middleware records the
    event the ordinary way."""
    now = time.time() if now is None else now
    w = Windows.at(now)
    plan = principal.plan
    source = "redis"
    client = redis_client()
    verdict = None
    recorded = 0
    if client is not None:
        minute_key, month_key = _keys(principal.account_id, w)
        keys = [minute_key, month_key, stamp.version_key if stamp is not None else "", settings.USAGE_STREAM_KEY]
        args: list[Any] = [plan.requests_per_minute, plan.included_requests, int(plan.hard_cap),
                           int(counts_month), MINUTE_SECONDS * 2, w.month_end + 3600,
                           stamp.token if stamp is not None else "", event.to_json() if event is not None else ""]
        try:
            # The only Redis round trip of the throttle (EVALSHA; EVAL once after a restart).
            verdict, minute, month, recorded = script_run(client, _SCRIPT, keys, args)
        except Exception as e:  # noqa: BLE001 - any Redis failure: take the fallback
            redis_failed(e, what="throttle")
            verdict = None
    if verdict is None and stamp is not None and not stamp.verified:
        # Nobody could check the in-process copy: the caller resolves the ordinary way first.
        return STALE, _state(principal, w, 0, 0, "memory")
    if verdict is None:
        if settings.REDIS_URL and not _database_answers():
            # Redis is configured but down, and so is the database: nowhere to meter to.
            raise ServiceUnavailable("Usage cannot be recorded right now.", retry_after=5)
        source = "memory"
        verdict, minute, month = memory_limiter.hit(
            principal.account_id, w, rpm=plan.requests_per_minute, included=plan.included_requests,
            hard_cap=plan.hard_cap, counts_month=counts_month,
        )
    if recorded:
        labelled(USAGE_EVENTS, "stream").inc()
    return int(verdict), _state(principal, w, int(minute), int(month), source, event_recorded=bool(recorded))


def limiter_peek(*, principal: Principal, now: float | None = None) -> RateState:
    """The counters without counting: for answers the throttle never saw (e.g. a 403)."""
    now = time.time() if now is None else now
    w = Windows.at(now)
    client = redis_client()
    if client is not None:
        try:
            minute, month = client.mget(_keys(principal.account_id, w))
            return _state(principal, w, int(minute or 0), int(month or 0), "redis")
        except Exception as e:  # noqa: BLE001
            redis_failed(e, what="throttle peek")
    minute, month = memory_limiter.peek(principal.account_id, w)
    return _state(principal, w, minute, month, "memory")


def _state(
    principal: Principal, w: Windows, minute: int, month: int, source: str, *, event_recorded: bool = False
) -> RateState:
    plan = principal.plan
    return RateState(
        plan_code=plan.code,
        minute_limit=plan.requests_per_minute,
        minute_used=minute,
        minute_reset=w.minute_reset,
        month_limit=plan.included_requests,
        month_used=month,
        month_reset=max(1, w.month_end - w.now),
        hard_cap=plan.hard_cap,
        source=source,
        event_recorded=event_recorded,
    )


def counts_toward_month(*, principal: Principal, endpoint: str) -> bool:
    return principal.mode == "live" and is_product_endpoint(endpoint)


def _admission_event(http_request: HttpRequest, principal: Principal, endpoint: str, ready: Any) -> UsageRecord | None:
    """The usage event of an answer already in hand (``weatherapi.api.ApiView.ready``),
    to be recorded by the throttle's script together with the admission."""
    if ready is None or not settings.METERING_ENABLED or not settings.REDIS_URL:
        return None
    started = getattr(http_request, "wx_started", None)
    return usage_record_build(
        principal=principal,
        endpoint=endpoint[:40] or "unknown",
        status=200,
        cache=ready.cache,
        latency_ms=int((time.perf_counter() - started) * 1000) if started is not None else 0,
        request_id=str(getattr(http_request, "request_id", "") or ""),
    )


def admit_in_hand(
    http_request: HttpRequest, *, principal: Principal, stamp: Stamp, endpoint: str, ready: Any
) -> RateState | None:
    """The throttle of the express path (``forecasts.views.WeatherApiView.dispatch``): one
    script call that validates the in-process credential copy, counts both windows and
    records the answer's usage event. Returns the state when admitted; None when the copy
    is stale or could not be checked (nothing was counted: the ordinary path resolves
    again). A refusal counts nothing either: it is kept on the request, and the ordinary
    path's ``PlanThrottle`` raises it as the 429 it always answers, without a second call."""
    event = _admission_event(http_request, principal, endpoint, ready)
    # Kept even when this returns None: a script that ran but whose reply was lost (a
    # timeout) reads as STALE here, and the ordinary path must record the same event id.
    http_request.wx_admission_event = event  # type: ignore[attr-defined]
    verdict, state = limiter_hit(
        principal=principal, counts_month=counts_toward_month(principal=principal, endpoint=endpoint),
        stamp=stamp, event=event,
    )
    if verdict == STALE:
        local_forget(stamp)  # the ordinary path resolves afresh, in one call
        return None
    if verdict != ALLOWED:
        http_request.wx_refused = (verdict, state)  # type: ignore[attr-defined]
        return None
    http_request.wx_ratelimit = state  # type: ignore[attr-defined]
    return state


class PlanThrottle(BaseThrottle):
    """Burst and monthly quota of the caller's plan, keyed by account (module docstring)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        principal = request.auth
        if not isinstance(principal, Principal):
            return True
        refused = getattr(request._request, "wx_refused", None)
        if refused is not None:
            verdict, state = refused  # the express path's call already refused it
        else:
            verdict, state = self._hit(request, view, principal)
        request._request.wx_ratelimit = state  # type: ignore[attr-defined]
        if verdict == QUOTA_EXCEEDED:
            THROTTLE_REJECTIONS.labels(plan=state.plan_code, reason="quota_exceeded").inc()
            raise QuotaExceeded(
                f"The monthly quota of {state.month_limit} requests of your plan is used up.",
                retry_after=state.month_reset,
            )
        if verdict == RATE_LIMITED:
            THROTTLE_REJECTIONS.labels(plan=state.plan_code, reason="rate_limited").inc()
            raise RateLimited(
                f"Your plan allows {state.minute_limit} requests a minute.", retry_after=state.minute_reset
            )
        return True

    def _hit(self, request: Request, view: Any, principal: Principal) -> tuple[int, RateState]:
        endpoint = getattr(view, "metering_endpoint", "") or ""
        credential = getattr(request._request, "wx_credential", None)
        # Built once: a retry (a STALE copy, or a script whose reply was lost to a timeout
        # after it ran) carries the same event id, and so does the metering middleware's
        # record if the script's append is not confirmed: the store keeps one per id.
        event = _admission_event(request._request, principal, endpoint, getattr(view, "ready", None))
        # The express path's call may have recorded its event before its reply was lost:
        # whatever this path records carries that id, so the store keeps one. With no
        # answer in hand here (the copy expired meanwhile) nothing rides with the script,
        # and the metering middleware's event takes the id.
        earlier = getattr(request._request, "wx_admission_event", None)
        if event is not None and earlier is not None:
            event = replace(event, id=earlier.id)
        request._request.wx_admission_event = event if event is not None else earlier  # type: ignore[attr-defined]
        for attempt in range(3):
            stamp = credential[0] if credential is not None and attempt < 2 else None
            verdict, state = limiter_hit(
                principal=principal, counts_month=counts_toward_month(principal=principal, endpoint=endpoint),
                stamp=stamp, event=event,
            )
            if verdict != STALE:
                break
            # The in-process credential copy is outdated (revoked, suspended, plan changed)
            # or could not be checked: resolve again (401/403 raise from here) and retry.
            from accounts.authentication import reattach

            assert credential is not None and stamp is not None  # noqa: S101
            local_forget(stamp)
            _, kind, secret = credential
            principal, new_stamp = resolve_local(kind, secret)
            reattach(request, principal, new_stamp, kind, secret)
            credential = getattr(request._request, "wx_credential", None)
        return verdict, state


def ratelimit_headers(state: RateState) -> dict[str, str]:
    """draft-ietf-httpapi-ratelimit-headers-11: both policies, and the one closest to
    exhaustion in ``RateLimit``. The month only competes when it is a hard cap: past the
    included amount of an overage plan, calls still pass."""
    policy = (
        f'"minute";q={state.minute_limit};w={MINUTE_SECONDS}, '
        f'"month";q={state.month_limit};w={MONTH_POLICY_SECONDS}'
    )
    name, remaining, reset = "minute", state.minute_remaining, state.minute_reset
    if state.hard_cap and state.month_limit > 0:
        minute_share = state.minute_remaining / max(1, state.minute_limit)
        month_share = state.month_remaining / state.month_limit
        if month_share < minute_share:
            name, remaining, reset = "month", state.month_remaining, state.month_reset
    return {"RateLimit-Policy": policy, "RateLimit": f'"{name}";r={remaining};t={reset}'}
