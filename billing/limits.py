"""Each account's plan limits where the throttle's script reads them: a Redis hash per
account (``{wx}:pl:a<id>``), filled from the database on first use and deleted when the
account's plan, the plan itself or the account's spend cap changes, so the next request
reads the new limits.

Fields: ``code``, ``rpm``, ``included`` and ``hard_cap`` (0/1: the plan has no overage
price) as the plan has them, and ``cap``: the billable requests the month may take before
they are refused, empty for none (``billing.pricing.monthly_request_cap``: the included amount
of a hard-capped plan, or what the spend cap pays for). An entry without ``cap`` (written
before it existed) reads as missing, so it is loaded again rather than read as "no cap".

Without Redis (or while it fails) the limits come from the database; while the database
fails too, from the last limits this process read for the account (else the default
plan's), so that authenticated traffic goes on.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from django.db import DatabaseError

from billing.selectors import PlanLimits, plan_limits_default, plan_limits_for_account
from weatherapi.redis import METERING_KEY_PREFIX, redis_client, redis_failed

# A day: an entry nobody deleted (a plan change while Redis was down) is re-read from the
# database within that time.
LIMITS_TTL_SECONDS = 86_400
LIMIT_FIELDS = ("code", "rpm", "included", "hard_cap", "cap")
_LAST_SEEN_MAX = 10_000

logger = logging.getLogger(__name__)
_last_seen: OrderedDict[int, PlanLimits] = OrderedDict()
_last_seen_lock = threading.Lock()


def _remember(account_id: int, limits: PlanLimits) -> PlanLimits:
    with _last_seen_lock:  # a worker's threads share it
        _last_seen[account_id] = limits
        _last_seen.move_to_end(account_id)
        while len(_last_seen) > _LAST_SEEN_MAX:
            _last_seen.popitem(last=False)
    return limits


def limits_key(account_id: int) -> str:
    return f"{METERING_KEY_PREFIX}pl:a{account_id}"


def limits_from_values(values: list[Any]) -> PlanLimits | None:
    """``LIMIT_FIELDS`` as Redis returns them (HMGET), or None when the entry is missing."""
    code, rpm, included, hard_cap, cap = (v.decode() if isinstance(v, bytes) else v for v in values)
    if rpm is None or included is None or cap is None:
        return None
    return PlanLimits(code=str(code), requests_per_minute=int(rpm), included_requests=int(included),
                      hard_cap=str(hard_cap) == "1", month_cap=int(cap) if cap != "" else None)


def plan_limits_load(*, account_id: int) -> PlanLimits:
    """The account's limits from the database, stored where the script reads them."""
    try:
        limits = _remember(account_id, plan_limits_for_account(account_id=account_id))
    except DatabaseError:
        logger.warning("plan limits of account %s read while the database is down", account_id)
        return _last_seen.get(account_id) or plan_limits_default()
    client = redis_client()
    if client is not None:
        try:
            pipe = client.pipeline(transaction=False)
            key = limits_key(account_id)
            pipe.hset(key, mapping={"code": limits.code, "rpm": limits.requests_per_minute,
                                    "included": limits.included_requests, "hard_cap": int(limits.hard_cap),
                                    "cap": "" if limits.month_cap is None else limits.month_cap})
            pipe.expire(key, LIMITS_TTL_SECONDS)
            pipe.execute()
        except Exception as e:  # noqa: BLE001 - the script will ask again
            redis_failed(e, what="plan limits")
    return limits


def plan_limits_get(*, account_id: int) -> PlanLimits:
    """The account's limits: from Redis when it holds them, else from the database."""
    client = redis_client()
    if client is not None:
        try:
            limits = limits_from_values(client.hmget(limits_key(account_id), LIMIT_FIELDS))
            if limits is not None:
                return _remember(account_id, limits)
        except Exception as e:  # noqa: BLE001
            redis_failed(e, what="plan limits")
    return plan_limits_load(account_id=account_id)


def plan_limits_forget(*, account_ids: Iterable[int]) -> None:
    """After a plan, subscription or spend cap change is committed: the next request of
    each account reads its new limits. Failing to delete leaves old limits for at most ``LIMITS_TTL_SECONDS``."""
    client = redis_client()
    keys = [limits_key(account_id) for account_id in account_ids]
    if client is None or not keys:
        return
    try:
        client.delete(*keys)
    except Exception as e:  # noqa: BLE001
        redis_failed(e, what="plan limits")
