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

What counts toward the monthly quota: what is billable, so that the API, the portal and the
``RateLimit`` headers show one number (``billing.endpoints``). The script reserves one unit
of the month when it admits a GET of a product endpoint with a live credential; when the
answer is not a 2xx, the metering middleware gives it back (``limiter_refund``). The
counter is therefore the billable count plus the answers still being computed, and a
capped month never passes its cap however many misses run at once. ``/v1/account*``,
HEAD, OPTIONS and test-mode calls count toward the minute burst only: the sandbox costs no
upstream call and is never billed, and a client must be able to keep testing after using
up its live quota.

A batch (a view with ``metered_items``, ``POST /v1/batch``) counts each of its items as a
request of its endpoint: the script admits all of its units or none, and the batch view
settles the reservation item by item (``limiter_settle``).

The month's cap (``cap`` in the limits, ``billing.limits``) is the included amount of a
plan without an overage price, or, for a plan with one, what the account's spend cap pays
for (``billing.pricing.monthly_request_cap``). A plan with an overage price and no spend
cap has no monthly cap (overage is billed), but the counter still runs and is reported in
the rate-limit headers and ``GET /v1/account``.

Without a metering store (``USAGE_REDIS_URL`` and ``REDIS_URL`` unset) or while it fails, a per-process in-memory limiter
with the same windows takes over. It is approximate: each process counts alone, so with
P processes up to P times the limit can pass, and it forgets on restart. Memory is
bounded (``THROTTLE_MEMORY_MAX_KEYS`` accounts, least recently used evicted).

The script also does two things that cost no extra round trip:

* it reads the account's plan limits from Redis (``billing.limits``): a missing entry is
  loaded from the database and the script asked again;
* it checks the caller's in-process credential copy (``weatherapi.context.CredentialCheck``):
  an outdated one counts nothing, the credential is resolved again
  (``accounts.authentication.reauthenticate``) and the script asked again;
* when the view already holds its answer (``RequestContext.prepared``), it appends the
  answer's usage event to the stream with the admission, so a warm cached answer costs
  one Redis round trip in all.

"No unmetered service" (docs/design.md, failure behaviour): when Redis is configured but
failing, usage events must go to the database, so the throttle checks the database
answers before the view runs and answers 503 ``service_unavailable`` when it does not
(both stores down). The metering middleware enforces the same rule after the view for the
case where Redis dies mid-request (see ``billing.middleware``).
"""

from __future__ import annotations

import calendar
import functools
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.db import connection
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from accounts.authentication import reauthenticate
from accounts.credentials import Principal
from billing.endpoints import counts_toward_quota
from billing.limits import limits_from_values, limits_key, plan_limits_get, plan_limits_load
from billing.selectors import PlanLimits
from billing.services.quota import quota_counter_rebuild
from billing.services.usage import UsageRecord, usage_record_build
from weatherapi.context import CredentialCheck, RequestContext, request_context
from weatherapi.errors import QuotaExceeded, RateLimited, ServiceUnavailable
from weatherapi.metrics import THROTTLE_REJECTIONS, USAGE_EVENTS, labelled
from weatherapi.redis import METERING_KEY_PREFIX, metering_store_url, redis_client, redis_failed

MINUTE_SECONDS = 60
# The draft's window for a month policy, as the contract writes it (30 days); ``t`` in the
# RateLimit header carries the exact seconds to the end of the calendar month.
MONTH_POLICY_SECONDS = 2_592_000

ALLOWED, RATE_LIMITED, QUOTA_EXCEEDED, STALE, NO_LIMITS, NO_COUNTER = 0, 1, 2, 3, 4, 5

# KEYS: minute counter, month counter, plan limits, usage stream, credential version (a key
#       never set, in the same slot, for none: a cluster refuses keys across slots).
# ARGV: units of the month (0 for a call that does not count toward it), minute key ttl,
#       month key expiry (unix time), the token the caller's credential copy carries ('' for
#       none), a usage event to append when admitted ('' for none), units of the minute (1
#       for a request; a batch counts its items).
# Returns {verdict, minute count, month count, event appended (0/1), code, rpm, included,
# hard cap (0/1), month cap ('' for none)}. Only an admitted call increments or appends
# anything, and a call is admitted whole or not at all (a batch larger than what is left of
# the minute or of the month's cap is refused). A call that counts toward the month finds
# the month counter missing (NO_COUNTER): it is rebuilt (``billing.services.quota``) and the
# script asked again; INCR never starts it from zero.
_LUA = """
if ARGV[4] ~= '' and redis.call('GET', KEYS[5]) ~= ARGV[4] then
  return {3, 0, 0, 0}
end
local limits = redis.call('HMGET', KEYS[3], 'code', 'rpm', 'included', 'hard_cap', 'cap')
if not limits[2] or not limits[3] or not limits[5] then
  return {4, 0, 0, 0}
end
local rpm, cap = tonumber(limits[2]), tonumber(limits[5])
local month_units, units = tonumber(ARGV[1]), tonumber(ARGV[6])
local counts_month = month_units > 0
local month_raw = redis.call('GET', KEYS[2])
if counts_month and not month_raw then
  return {5, 0, 0, 0}
end
local minute = tonumber(redis.call('GET', KEYS[1]) or '0')
local month = tonumber(month_raw or '0')
local verdict, appended = 0, 0
if counts_month and cap and month + month_units > cap then
  verdict = 2
elseif minute + units > rpm then
  verdict = 1
else
  minute = redis.call('INCRBY', KEYS[1], units)
  if minute == units then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
  if counts_month then
    month = redis.call('INCRBY', KEYS[2], month_units)
    if month == month_units then redis.call('EXPIREAT', KEYS[2], ARGV[3]) end
  end
  if ARGV[5] ~= '' then
    redis.call('XADD', KEYS[4], '*', 'e', ARGV[5])
    appended = 1
  end
end
return {verdict, minute, month, appended, limits[1], limits[2], limits[3], limits[4], limits[5]}
"""


# KEYS: month counter; ARGV: units. Gives back reserved units, never below zero nor to a
# key that is gone (expired with its month, or lost with Redis: nothing to give back to).
_REFUND_LUA = """
local month = tonumber(redis.call('GET', KEYS[1]) or '0')
if month > 0 then return redis.call('DECRBY', KEYS[1], math.min(month, tonumber(ARGV[1]))) end
return month
"""


@dataclass(frozen=True, slots=True)
class RateState:
    """What the throttle saw (``weatherapi.context.RateReport``); the metering middleware
    turns it into the headers."""

    plan_code: str
    minute_limit: int
    minute_used: int
    minute_reset: int  # seconds until the minute window resets
    month_limit: int  # the plan's included requests
    month_used: int
    month_reset: int  # seconds until the calendar month ends
    hard_cap: bool  # the plan has no overage price
    # Billable requests the month takes before refusing (``billing.limits``): the included
    # amount of a hard-capped plan, or what the spend cap pays for; None: no cap.
    month_cap: int | None
    source: str  # "redis" or "memory"
    # The usage event built for the script: ``event_appended`` when it went to the stream
    # with the admission. When the call failed (a timeout) it may have gone all the same,
    # so the metering middleware records the request's event under the same id.
    event: UsageRecord | None = None
    event_appended: bool = False
    # The month (``YYYYMM``) in which the admission reserved ``reserved_units`` of the quota
    # (one per request, one per batch item), for the refund of answers that are not
    # billable; None when it reserved nothing.
    month_reserved: str | None = None
    reserved_units: int = 0

    @property
    def month_counter(self) -> int | None:
        """The shared monthly count, for ``account_period``; None when only this process's
        in-memory limiter counted (it knows less than the database)."""
        return self.month_used if self.source == "redis" else None

    @property
    def minute_remaining(self) -> int:
        return max(0, self.minute_limit - self.minute_used)

    @property
    def month_quota(self) -> int:
        """The month policy's quota: the cap when the month has one, else the included
        amount (informational: past it, an overage plan's calls still pass)."""
        return self.month_limit if self.month_cap is None else self.month_cap

    @property
    def month_remaining(self) -> int:
        return max(0, self.month_quota - self.month_used)

    def headers(self) -> dict[str, str]:
        """draft-ietf-httpapi-ratelimit-headers-11: both policies, and the one closest to
        exhaustion in ``RateLimit``. The month only competes when it has a cap: past the
        included amount of an overage plan without a spend cap, calls still pass."""
        policy = (
            f'"minute";q={self.minute_limit};w={MINUTE_SECONDS}, '
            f'"month";q={self.month_quota};w={MONTH_POLICY_SECONDS}'
        )
        name, remaining, reset = "minute", self.minute_remaining, self.minute_reset
        if self.month_cap is not None:
            minute_share = self.minute_remaining / max(1, self.minute_limit)
            month_share = self.month_remaining / max(1, self.month_cap)
            if month_share < minute_share:
                name, remaining, reset = "month", self.month_remaining, self.month_reset
        return {"RateLimit-Policy": policy, "RateLimit": f'"{name}";r={remaining};t={reset}'}


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


_NO_VERSION_KEY = METERING_KEY_PREFIX + "cv:none"


def _month_start(w: Windows) -> date:
    return date(int(w.month_id[:4]), int(w.month_id[4:]), 1)


def _month_key(account_id: int, month_id: str) -> str:
    return f"{METERING_KEY_PREFIX}rl:a{account_id}:q:{month_id}"


def _keys(account_id: int, w: Windows) -> tuple[str, str]:
    return f"{METERING_KEY_PREFIX}rl:a{account_id}:m:{w.minute_id}", _month_key(account_id, w.month_id)


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
        self, account_id: int, w: Windows, *, rpm: int, cap: int | None, month_units: int, units: int = 1,
    ) -> tuple[int, int, int]:
        """As the script: ``cap`` is the month's cap, None for none."""
        with self._lock:
            entry = self._entry(account_id, w)
            if month_units and cap is not None and entry[3] + month_units > cap:
                return QUOTA_EXCEEDED, entry[1], entry[3]
            if entry[1] + units > rpm:
                return RATE_LIMITED, entry[1], entry[3]
            entry[1] += units
            entry[3] += month_units
            return ALLOWED, entry[1], entry[3]

    def refund(self, account_id: int, month_id: str, units: int = 1) -> None:
        with self._lock:
            entry = self._counters.get(account_id)
            if entry is not None and entry[2] == month_id:
                entry[3] -= min(entry[3], units)

    def peek(self, account_id: int, w: Windows) -> tuple[int, int]:
        with self._lock:
            entry = self._entry(account_id, w)
            return entry[1], entry[3]

    def clear(self) -> None:  # tests
        with self._lock:
            self._counters.clear()


memory_limiter = MemoryLimiter(settings.THROTTLE_MEMORY_MAX_KEYS)


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any failure means the database cannot take events
        connection.close_if_unusable_or_obsolete()
        return False


def _state(
    limits: PlanLimits, w: Windows, minute: int, month: int, source: str,
    *, event: UsageRecord | None = None, appended: bool = False, reserved: int = 0,
) -> RateState:
    return RateState(
        plan_code=limits.code,
        minute_limit=limits.requests_per_minute,
        minute_used=minute,
        minute_reset=w.minute_reset,
        month_limit=limits.included_requests,
        month_used=month,
        month_reset=max(1, w.month_end - w.now),
        hard_cap=limits.hard_cap,
        month_cap=limits.month_cap,
        source=source,
        event=event,
        event_appended=appended,
        month_reserved=w.month_id if reserved else None,
        reserved_units=reserved,
    )


_script_lock = threading.Lock()
_scripts: dict[tuple[int, str], Any] = {}


def _script(client: Any, source: str = _LUA) -> Any:
    """A script (the throttle's by default), registered once per client (redis-py's ``Script``)."""
    key = (id(client), source)
    script = _scripts.get(key)
    if script is None:
        with _script_lock:
            script = _scripts.setdefault(key, client.register_script(source))
    return script


# KEYS: month counters; ARGV: what to add to each. Adds only to a counter that exists: a
# missing one is rebuilt from the database, which holds those answers' events already.
_SYNC_LUA = """
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then redis.call('INCRBY', key, ARGV[i]) end
end
return 0
"""

# Billable answers this process admitted with its in-memory limiter while the metering
# store failed, by (account, month): the store's counters never saw them. Added once the
# store answers again, so that an outage grants no free quota.
_unsynced_lock = threading.Lock()
_unsynced: Counter[tuple[int, str]] = Counter()


def limiter_note_unsynced(*, account_id: int, state: RateState, units: int = 1) -> None:
    """Billable answers admitted by the in-memory limiter (and not refunded)."""
    if state.source != "memory" or state.month_reserved is None or not metering_store_url() or units <= 0:
        return
    with _unsynced_lock:
        _unsynced[(account_id, state.month_reserved)] += units


def _counters_sync(client: Any) -> None:
    global _unsynced
    if not _unsynced:
        return
    with _unsynced_lock:
        pending, _unsynced = _unsynced, Counter()
    items = sorted(pending.items())
    try:
        _script(client, _SYNC_LUA)(keys=[_month_key(a, m) for (a, m), _ in items], args=[n for _, n in items])
    except Exception as e:  # noqa: BLE001 - kept for the next answer of the store
        redis_failed(e, what="quota sync")
        with _unsynced_lock:
            _unsynced.update(pending)


def limiter_hit(
    *,
    principal: Principal,
    counts_month: bool,
    check: CredentialCheck | None = None,
    event: UsageRecord | None = None,
    now: float | None = None,
    units: int = 1,
) -> tuple[int, RateState | None]:
    """Count one request (``units`` for a batch of items) against both windows. Returns
    (verdict, state).

    STALE (nothing counted, no state): ``check`` found the caller's credential copy outdated, or
    Redis failed and nobody could check it. With ``event``, an admitted call also appends
    the event to the usage stream (``state.event_appended``).
    """
    now = time.time() if now is None else now
    w = Windows.at(now)
    month_units = units if counts_month else 0
    client = redis_client()
    if client is not None:
        minute_key, month_key = _keys(principal.account_id, w)
        keys = [minute_key, month_key, limits_key(principal.account_id), settings.USAGE_STREAM_KEY,
                check.version_key if check is not None else _NO_VERSION_KEY]
        args = [month_units, MINUTE_SECONDS * 2, w.month_end + 3600,
                check.token if check is not None else "", event.to_json() if event is not None else "", units]
        try:
            reply = _script(client)(keys=keys, args=args)
            if reply[0] == NO_LIMITS:
                plan_limits_load(account_id=principal.account_id)
                reply = _script(client)(keys=keys, args=args)
            if reply[0] == NO_COUNTER:
                quota_counter_rebuild(client=client, key=month_key, account_id=principal.account_id,
                                      month_start=_month_start(w), month_end=w.month_end)
                reply = _script(client)(keys=keys, args=args)
        except Exception as e:  # noqa: BLE001 - any Redis failure: take the fallback
            redis_failed(e, what="throttle")
        else:
            _counters_sync(client)
            verdict, minute, month, appended = (int(x) for x in reply[:4])
            if verdict in (STALE, NO_LIMITS, NO_COUNTER):
                return STALE, None
            if appended:
                labelled(USAGE_EVENTS, "stream").inc()
            limits = limits_from_values(reply[4:9])
            assert limits is not None  # noqa: S101 - the script answered NO_LIMITS otherwise
            return verdict, _state(limits, w, minute, month, "redis", event=event, appended=bool(appended),
                                   reserved=month_units if verdict == ALLOWED else 0)
    if check is not None:
        return STALE, None
    if metering_store_url() and not _database_answers():
        # Redis is configured but down, and so is the database: nowhere to meter to.
        raise ServiceUnavailable("Usage cannot be recorded right now.", retry_after=5)
    limits = plan_limits_get(account_id=principal.account_id)
    verdict, minute, month = memory_limiter.hit(
        principal.account_id, w, rpm=limits.requests_per_minute, cap=limits.month_cap,
        month_units=month_units, units=units,
    )
    return verdict, _state(limits, w, minute, month, "memory", event=event,
                           reserved=month_units if verdict == ALLOWED else 0)


def limiter_refund(*, account_id: int, state: RateState, units: int | None = None) -> None:
    """Give back units of the month the admission reserved (all of them by default), for
    answers that are not billable. Where they were reserved: a reservation in Redis is not
    given back while Redis fails (the counter stays high, never low: no free quota)."""
    month_id = state.month_reserved
    units = state.reserved_units if units is None else units
    if month_id is None or units <= 0:
        return
    if state.source == "memory":
        memory_limiter.refund(account_id, month_id, units)
        return
    client = redis_client()
    if client is None:
        return
    try:
        _script(client, _REFUND_LUA)(keys=[_month_key(account_id, month_id)], args=[units])
    except Exception as e:  # noqa: BLE001 - the counter stays high until the month ends
        redis_failed(e, what="quota refund")


def limiter_settle(*, account_id: int, state: RateState, billable: int) -> RateState:
    """The admission's reservation settled once the answers are known: ``billable`` of the
    reserved units stay counted, the rest are given back. Returns the state to report."""
    if state.month_reserved is None:
        return state
    billable = max(0, min(billable, state.reserved_units))
    unused = state.reserved_units - billable
    limiter_refund(account_id=account_id, state=state, units=unused)
    limiter_note_unsynced(account_id=account_id, state=state, units=billable)
    return replace(state, month_used=max(0, state.month_used - unused), month_reserved=None, reserved_units=0)


def limiter_peek(*, account_id: int, now: float | None = None) -> RateState:
    """The counters without counting: for answers the throttle never saw (e.g. a 403)."""
    w = Windows.at(time.time() if now is None else now)
    limits = plan_limits_get(account_id=account_id)
    client = redis_client()
    if client is not None:
        try:
            minute, month = client.mget(_keys(account_id, w))
            return _state(limits, w, int(minute or 0), int(month or 0), "redis")
        except Exception as e:  # noqa: BLE001
            redis_failed(e, what="throttle peek")
    minute, month = memory_limiter.peek(account_id, w)
    return _state(limits, w, minute, month, "memory")




def _prepared_event(context: RequestContext, principal: Principal, endpoint: str) -> UsageRecord | None:
    """The usage event of an answer the view holds before admission (a 200), to append
    with the admission; only where a stream exists to append it to."""
    if not context.prepared or not metering_store_url():
        return None
    return usage_record_build(
        principal=principal,
        endpoint=endpoint[:40] or "unknown",
        method="GET",
        status=200,
        cache=context.cache,
        latency_ms=int((time.perf_counter() - context.started) * 1000),
        request_id=context.request_id,
    )


def _quota_exceeded_detail(state: RateState) -> str:
    if state.hard_cap:
        return f"The monthly quota of {state.month_limit} requests of your plan is used up."
    return (f"Your monthly spend cap is reached: it pays for {state.month_cap} billable requests this month "
            f"({state.month_limit} included in your plan). Raise or remove it to go on.")


class PlanThrottle(BaseThrottle):
    """Burst and monthly quota of the caller's plan, keyed by account (module docstring)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        principal = request.auth
        if not isinstance(principal, Principal):
            return True  # public views (the schema and docs): nobody to count against
        context = request_context(request)
        endpoint = getattr(view, "metering_endpoint", "") or ""
        items = getattr(view, "metered_items", None)
        units = items(request) if items is not None else 0
        if units:
            # A batch: each item is a request of a product endpoint (``jobs``), counted
            # toward the minute and, for a live credential, the month, all or nothing.
            counts_month = principal.mode == "live"
        else:
            units = 1
            counts_month = counts_toward_quota(endpoint=endpoint, mode=principal.mode, method=request.method or "")
        # Built once: a retry after a stale copy carries the same event id.
        event = _prepared_event(context, principal, endpoint)
        verdict, state = limiter_hit(
            principal=principal, counts_month=counts_month, check=context.credential_check, event=event, units=units
        )
        if verdict == STALE:
            principal = reauthenticate(request)  # 401/403 for a revoked key, a suspended account
            verdict, state = limiter_hit(principal=principal, counts_month=counts_month, event=event, units=units)
        assert state is not None  # noqa: S101 - only a check makes STALE, and the retry has none
        context.rate = state
        if verdict == QUOTA_EXCEEDED:
            THROTTLE_REJECTIONS.labels(plan=state.plan_code, reason="quota_exceeded").inc()
            more = f" This batch has {units} items; {state.month_remaining} are left this month." if units > 1 else ""
            raise QuotaExceeded(_quota_exceeded_detail(state) + more, retry_after=state.month_reset)
        if verdict == RATE_LIMITED:
            THROTTLE_REJECTIONS.labels(plan=state.plan_code, reason="rate_limited").inc()
            more = f" This batch has {units} items; {state.minute_remaining} are left this minute." if units > 1 else ""
            raise RateLimited(
                f"Your plan allows {state.minute_limit} requests a minute.{more}", retry_after=state.minute_reset
            )
        return True
