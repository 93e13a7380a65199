"""The usage worker: Redis stream → PostgreSQL, exactly once.

Each round, a worker (one consumer of the group ``USAGE_WORKER_GROUP``):

1. re-reads its own pending entries (delivered to it before, not acknowledged: the
   database failed last time, or the process restarted under the same name);
2. takes over entries another consumer left pending longer than the reclaim idle time
   (XAUTOCLAIM; that consumer is presumed dead);
3. reads new entries (XREADGROUP ``>``).

A batch is stored with ``usage_entries_store`` (insert ignoring known ids, rollups of the
rows actually inserted, ``ApiKey.last_used_at``; one transaction) and only after the
commit acknowledged and deleted from the stream (XACK + XDEL, one pipeline). A crash
between commit and acknowledgement means the batch is delivered again and inserts
nothing; a crash before the commit means it is stored by whoever reclaims it. Nothing is
lost, nothing counted twice.

After the acknowledgement, the accounts whose billable usage the batch changed (and those
refused at a limit) are checked for usage alerts (``billing.services.alerts``), by month.
A check that fails is logged and never holds up the stream: the account's next batch
checks again.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection

from billing.models import UsageAlert
from billing.services.alerts import usage_alerts_check
from billing.services.usage import AccountMonth, usage_entries_store
from weatherapi.metrics import USAGE_EVENTS_FLUSHED, USAGE_STREAM_PENDING

logger = logging.getLogger(__name__)

Entry = tuple[Any, Any]  # (entry id, {field: value} or None for an entry deleted meanwhile)


def default_consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class UsageWorker:
    def __init__(
        self,
        *,
        client: Any,
        stream: str | None = None,
        group: str | None = None,
        consumer: str | None = None,
        batch: int | None = None,
        reclaim_idle_ms: int | None = None,
    ) -> None:
        self.client = client
        self.stream = stream or settings.USAGE_STREAM_KEY
        self.group = group or settings.USAGE_WORKER_GROUP
        self.consumer = consumer or default_consumer_name()
        self.batch = batch or settings.USAGE_WORKER_BATCH
        self.reclaim_idle_ms = (
            settings.USAGE_RECLAIM_IDLE_SECONDS * 1000 if reclaim_idle_ms is None else reclaim_idle_ms
        )
        self._group_ready = False

    def ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            # From the start of the stream: events added before the group existed count too.
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except Exception as e:  # redis.ResponseError BUSYGROUP: it exists already
            if "BUSYGROUP" not in str(e):
                raise
        self._group_ready = True

    # --- reading ------------------------------------------------------------------------
    def _read(self, last_id: str, block_ms: int | None) -> list[Entry]:
        answer = self.client.xreadgroup(
            self.group, self.consumer, {self.stream: last_id}, count=self.batch, block=block_ms
        )
        if not answer:
            return []
        return list(answer[0][1])

    def read_own_pending(self) -> list[Entry]:
        return self._read("0", None)

    def reclaim(self) -> list[Entry]:
        answer = self.client.xautoclaim(
            self.stream, self.group, self.consumer, min_idle_time=self.reclaim_idle_ms,
            start_id="0-0", count=self.batch,
        )
        entries = list(answer[1])
        # Redis 7 also lists entries deleted while pending; they are gone, nothing to store.
        return entries

    def read_new(self, block_ms: int | None = None) -> list[Entry]:
        return self._read(">", block_ms)

    # --- storing ------------------------------------------------------------------------
    def process(self, entries: Sequence[Entry]) -> int:
        """Store a batch, then acknowledge it. Returns how many events were new."""
        if not entries:
            return 0
        # An entry deleted meanwhile has no fields: nothing to store.
        raws = [fields.get(b"e") or fields.get("e") for _, fields in entries if fields]
        changed: set[AccountMonth] = set()
        inserted = usage_entries_store(entries=raws, changed=changed)  # commits, or raises: then no ack
        ids = [entry_id for entry_id, _ in entries]
        pipe = self.client.pipeline(transaction=False)
        pipe.xack(self.stream, self.group, *ids)
        pipe.xdel(self.stream, *ids)
        pipe.execute()
        USAGE_EVENTS_FLUSHED.inc(inserted)
        self.alerts_check(changed)
        return inserted

    def alerts_check(self, changed: Iterable[AccountMonth]) -> list[UsageAlert]:
        """Usage alerts of the accounts a batch changed, a check per month; returns the
        alerts created. Never raises: a failed check is made good by the next batch."""
        by_month: defaultdict[date, list[int]] = defaultdict(list)
        for account_id, month in changed:
            by_month[month].append(account_id)
        created: list[UsageAlert] = []
        for month, account_ids in sorted(by_month.items()):
            try:
                created += usage_alerts_check(account_ids=account_ids, period=month)
            except Exception:  # noqa: BLE001 - the batch is stored and acknowledged already
                logger.exception("usage worker: usage alerts of %d accounts not checked", len(account_ids))
                connection.close_if_unusable_or_obsolete()
        return created

    def report_pending(self) -> int:
        # Acknowledged entries are deleted, so the stream length is what is not yet stored.
        pending = int(self.client.xlen(self.stream))
        USAGE_STREAM_PENDING.set(pending)
        return pending

    def run_once(self) -> int:
        """Drain: own pending, reclaimed, then new entries until none is left."""
        self.ensure_group()
        total = 0
        for read in (self.read_own_pending, self.reclaim):
            while True:
                entries = read()
                if not entries:
                    break
                total += self.process(entries)
                if len(entries) < self.batch:
                    break
        while True:
            entries = self.read_new()
            if not entries:
                break
            total += self.process(entries)
        self.report_pending()
        return total

    def run_forever(
        self, *, block_ms: int = 2000, should_stop: Callable[[], bool] = lambda: False
    ) -> None:
        backoff = 0.5
        last_reclaim = 0.0
        while not should_stop():
            try:
                self.ensure_group()
                entries = self.read_own_pending()
                if not entries and time.monotonic() - last_reclaim > self.reclaim_idle_ms / 2000:
                    last_reclaim = time.monotonic()
                    entries = self.reclaim()
                if not entries:
                    entries = self.read_new(block_ms)
                self.process(entries)
                self.report_pending()
                backoff = 0.5
                if 0 < len(entries) < self.batch and settings.USAGE_WORKER_LINGER_SECONDS > 0:
                    # A trickle: let events gather so one transaction stores many, not one
                    # or two (docs/performance.md). Only delays storing, never loses.
                    time.sleep(settings.USAGE_WORKER_LINGER_SECONDS)
            except DatabaseError:
                # The batch stays pending to us and is read again (step 1) once PostgreSQL is back.
                logger.warning("usage worker: database unavailable, retrying in %.1fs", backoff)
                connection.close_if_unusable_or_obsolete()
                connection.close()
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            except Exception as e:  # noqa: BLE001 - Redis down or restarting: wait and retry
                logger.warning("usage worker: %s, retrying in %.1fs", type(e).__name__, backoff)
                self._group_ready = False  # a restarted Redis without persistence lost the group
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
