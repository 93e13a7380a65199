"""Rebuilding an account's monthly quota counter when the metering store does not have it.

The counter (``billing.throttles``) lives in the metering store. It is missing on an
account's first counted call of a month, and after the store lost data (a crash of a store
without durability, a failover to an empty replica). Starting it from zero would give the
account its whole quota again, so it is rebuilt from what is known to be billable:

    billable in this month's rollups + billable events still in the usage stream
    - those of them already stored (stored, not yet deleted from the stream)

The stream is read *before* the database: an event the usage worker moves in between is
then seen in both and subtracted once, never missed. Answers still being computed when the
counter went missing are not in either; they are at most the requests in flight.

Cost: one aggregate over the account's rollups of the month and one pass over the stream
(normally a second of events: the worker keeps it drained), once per account and month, or
after a loss.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from django.conf import settings

from billing.models import UsageEvent
from billing.selectors.usage import usage_billable_for_account
from billing.services.usage import UsageRecord

_SCAN = 1000  # stream entries per XRANGE call


def _stream_billable_ids(client: object, *, account_id: int, start: datetime, end: datetime) -> set[uuid.UUID]:
    ids: set[uuid.UUID] = set()
    cursor = "-"
    while True:
        entries = client.xrange(settings.USAGE_STREAM_KEY, min=cursor, max="+", count=_SCAN)  # type: ignore[attr-defined]
        for _entry_id, fields in entries:
            raw = fields.get(b"e") or fields.get("e")
            try:
                record = UsageRecord.from_json(raw)
            except Exception:  # noqa: BLE001, S112 # nosec B112 - a malformed entry bills nothing; the worker drops it loudly
                continue
            if record.account_id == account_id and record.billable and start <= record.occurred_at < end:
                ids.add(record.id)
        if len(entries) < _SCAN:
            return ids
        last = entries[-1][0]
        cursor = "(" + (last.decode() if isinstance(last, bytes) else last)


def quota_counter_rebuild(*, client: object, key: str, account_id: int, month_start: date, month_end: int) -> int:
    """Set the missing month counter ``key`` from the database and the stream (unless another
    process set it meanwhile: SET NX); returns the value it found or set."""
    start = datetime(month_start.year, month_start.month, month_start.day, tzinfo=UTC)
    end = datetime.fromtimestamp(month_end, tz=UTC)
    in_stream = _stream_billable_ids(client, account_id=account_id, start=start, end=end)
    stored = usage_billable_for_account(account_id=account_id, start=start.date(), end=end.date())
    ids = sorted(in_stream)
    both = sum(UsageEvent.objects.filter(id__in=ids[i : i + _SCAN]).count() for i in range(0, len(ids), _SCAN))
    used = stored + len(in_stream) - both
    client.set(key, used, exat=month_end + 3600, nx=True)  # type: ignore[attr-defined]
    return used
