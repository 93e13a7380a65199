"""Usage events: recording them at the request, storing them in the database exactly once.

``usage_event_record`` is the metering sink of a request: one XADD to the Redis stream
(never trimmed: MAXLEN would drop events nobody has stored yet), or, without Redis or when
the XADD fails, the event goes straight to the database. ``usage_events_store`` writes
records to the usage tables; ``usage_entries_store`` is the usage worker's: it decodes the
stream's texts (``UsageRecord.from_json``) and stores them the same way.

Exactly once: the event id (a UUIDv7) is made at the request and is the primary key. The
insert is ``INSERT ... VALUES ... ON CONFLICT (id) DO NOTHING RETURNING id`` and only the
rows it actually inserted are added to the daily rollups, in the same transaction. A batch
that is stored again (worker killed before acknowledging, XADD that timed out after Redis
took it and then went to the database as well) inserts nothing and adds nothing.

The statements are the same on PostgreSQL and SQLite (``RETURNING`` needs SQLite 3.35,
``UPDATE ... FROM`` 3.33), sent through Django's ordinary cursor with values prepared by
the model fields. Rows go in a stable order (events by id, rollup buckets and keys by
their key), so concurrent workers take their row locks in the same order and never
deadlock each other.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from operator import attrgetter
from typing import Any

from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError, connection, transaction
from django.db.models import Model

from accounts.credentials import Principal
from accounts.models import ApiKey
from billing.endpoints import is_billable
from billing.models import UsageDaily, UsageErrorDaily, UsageEvent
from weatherapi.metrics import USAGE_EVENTS, labelled
from weatherapi.redis import redis_client, redis_failed

logger = logging.getLogger(__name__)

# Rows per statement: at 12 parameters a row, far below SQLite's (32,766) and PostgreSQL's
# (65,535) limits on parameters in one statement.
_CHUNK = 500


# json.dumps with any option builds a new encoder on every call; the event is encoded on
# every metered request.
_COMPACT = json.JSONEncoder(separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """A usage event in flight (from the request to the stream to the database)."""

    id: uuid.UUID
    account_id: int
    credential_type: str
    credential_id: int
    endpoint: str
    mode: str
    status: int
    billable: bool
    cache: str | None
    latency_ms: int
    occurred_at: datetime  # aware, UTC
    request_id: str = ""

    def to_json(self) -> str:
        return _COMPACT.encode(
            {
                "id": self.id.hex, "a": self.account_id, "ct": self.credential_type,
                "ci": self.credential_id, "ep": self.endpoint, "m": self.mode, "s": self.status,
                "b": int(self.billable), "c": self.cache, "l": self.latency_ms,
                "t": self.occurred_at.timestamp(), "r": self.request_id,
            }
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> UsageRecord:
        # Decoded first: json.loads would guess the encoding of bytes; the stream holds UTF-8.
        d = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        return cls(
            id=uuid.UUID(hex=d["id"]), account_id=int(d["a"]), credential_type=str(d["ct"]),
            credential_id=int(d["ci"]), endpoint=str(d["ep"])[:40], mode=str(d["m"]),
            status=int(d["s"]), billable=int(d["b"]) != 0, cache=d.get("c"), latency_ms=int(d["l"]),
            occurred_at=datetime.fromtimestamp(float(d["t"]), tz=UTC), request_id=str(d.get("r") or "")[:64],
        )


# The store's exactly-once key: unique, never secret (clients never see or send it). A
# generator of our own, seeded from os.urandom and again in every forked worker, rather
# than uuid4's os.urandom per id: a system call that gives up the GIL, one hand-off more
# per request under load. Not the module-level random: anything may seed that (Hypothesis
# does, in the contract tests), and repeated ids would be events silently merged.
_ids = random.Random()  # noqa: S311 # nosec B311 - unique, not secret
os.register_at_fork(after_in_child=_ids.seed)

_RAND_B = (1 << 62) - 1


def _event_id(at: float) -> uuid.UUID:
    """A UUIDv7 (RFC 9562) for an event at unix time ``at``: 48 bits of milliseconds, the
    version, 12 + 62 random bits around the variant. Time-ordered, so the primary key index
    grows at its right edge instead of taking each insert on a random page (and, after
    each checkpoint, a full-page image of it in the WAL): less of PostgreSQL's CPU per stored
    event (docs/performance.md). 74 random bits a millisecond keep ids unique across
    processes."""
    rand = _ids.getrandbits(74)
    millis = int(at * 1000) & 0xFFFF_FFFF_FFFF
    return uuid.UUID(int=millis << 80 | 0x7 << 76 | (rand >> 62) << 64 | 0b10 << 62 | rand & _RAND_B)


def usage_record_build(
    *,
    principal: Principal,
    endpoint: str,
    method: str,
    status: int,
    cache: str | None,
    latency_ms: int,
    request_id: str,
) -> UsageRecord:
    """The usage event of one request, with a fresh id (the exactly-once key)."""
    now = time.time()
    return UsageRecord(
        id=_event_id(now),
        account_id=principal.account_id,
        credential_type=principal.credential_type,
        credential_id=principal.credential_id,
        endpoint=endpoint,
        mode=principal.mode,
        status=status,
        billable=is_billable(endpoint=endpoint, status=status, mode=principal.mode, method=method),
        cache=cache,
        latency_ms=latency_ms,
        occurred_at=datetime.fromtimestamp(now, tz=UTC),
        request_id=request_id[:64],
    )


def usage_event_record(*, record: UsageRecord) -> str | None:
    """Put one event where the worker (or nobody, if it went to the database) picks it up.

    Returns the sink ("stream" or "database"), or None when neither took it.
    """
    return usage_events_record(records=[record])


def usage_events_record(*, records: Sequence[UsageRecord]) -> str | None:
    """``usage_event_record`` for several events (a batch's items) in one round trip: one
    pipeline of XADDs, or one database transaction. A failure part way through the pipeline
    sends them all to the database as well: the ids make the store keep each once."""
    if not records:
        return "stream"
    client = redis_client()
    if client is not None:
        try:
            with client.pipeline(transaction=False) as pipe:
                for record in records:
                    pipe.xadd(settings.USAGE_STREAM_KEY, {"e": record.to_json()})
                pipe.execute()
            labelled(USAGE_EVENTS, "stream").inc(len(records))
            return "stream"
        except Exception as e:  # noqa: BLE001 - any Redis failure: go to the database
            redis_failed(e, what="metering")
    try:
        usage_events_store(records=records)
    except DatabaseError:
        logger.exception("usage events could not be stored in Redis or the database")
        connection.close_if_unusable_or_obsolete()
        USAGE_EVENTS.labels(sink="lost").inc(len(records))
        return None
    USAGE_EVENTS.labels(sink="database").inc(len(records))
    return "database"


# --- storing ----------------------------------------------------------------------------

# The event table's fields are UsageRecord's, by the same names (``account_id`` is the
# account's column): the one list of the insert's columns and of each record's values.
_EVENT_FIELDS = tuple(f.name for f in fields(UsageRecord))
_event_values = attrgetter(*_EVENT_FIELDS)

# A daily bucket (UsageDaily's unique constraint) is an event's UTC day and these
# attributes, named alike on UsageRecord and UsageDaily; ``_counts`` is what one event adds
# to the bucket's counters.
_BUCKET = ("account_id", "credential_type", "credential_id", "endpoint", "mode")
_bucket_of = attrgetter(*_BUCKET)
_COUNTERS = ("requests", "billable", "errors")


def _is_error(r: UsageRecord) -> bool:
    return r.status >= 400


def _counts(r: UsageRecord) -> tuple[int, int, int]:
    return 1, int(r.billable), int(_is_error(r))


def _dedupe(records: Iterable[UsageRecord]) -> list[UsageRecord]:
    """The records, the first of each id, sorted by id: the order in which the insert meets
    (and locks) the rows, the same for every worker."""
    seen: dict[uuid.UUID, UsageRecord] = {}
    for record in records:
        seen.setdefault(record.id, record)
    return [seen[record_id] for record_id in sorted(seen)]


def _insert(model: type[Model], names: Sequence[str], rows: Sequence[Sequence[Any]], on_conflict: str) -> list[Any]:
    """``INSERT INTO <table> (<columns of names>) VALUES (...), ... <on_conflict>``, ``_CHUNK``
    rows a statement, each value prepared by its model field (None, a value the event does
    not have, takes the field's default); returns what the statements return."""
    meta = model._meta
    model_fields: list[Any] = [meta.get_field(name) for name in names]  # attnames too: account_id
    q = connection.ops.quote_name
    columns = ", ".join(q(f.column) for f in model_fields)
    row = "(" + ", ".join(["%s"] * len(model_fields)) + ")"
    returned: list[Any] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            params = [
                f.get_db_prep_save(f.get_default() if value is None else value, connection)
                for values in chunk
                for f, value in zip(model_fields, values, strict=True)
            ]
            values_list = ", ".join([row] * len(chunk))
            cursor.execute(f"INSERT INTO {q(meta.db_table)} ({columns}) VALUES {values_list} {on_conflict}", params)  # noqa: S608 # nosec B608
            if cursor.description is not None:  # a RETURNING clause
                returned += cursor.fetchall()
    return returned


def _insert_events(records: Sequence[UsageRecord]) -> set[uuid.UUID]:
    """Insert, skipping ids already stored; returns the ids these statements inserted."""
    pk: Any = UsageEvent._meta.pk
    column = connection.ops.quote_name(pk.column)
    returned = _insert(UsageEvent, _EVENT_FIELDS, [_event_values(r) for r in records],
                       f"ON CONFLICT ({column}) DO NOTHING RETURNING {column}")
    return {pk.to_python(value) for (value,) in returned}


def _upsert_add(model: type[Model], key: Sequence[str], counters: Sequence[str],
                buckets: dict[tuple[Any, ...], list[int]]) -> None:
    """One ``INSERT ... ON CONFLICT (<key>) DO UPDATE SET <counter> = <counter> + excluded.<counter>``
    (a statement per ``_CHUNK`` rows) adding ``buckets`` (key values → counts) to ``model``."""
    if not buckets:
        return
    meta: Any = model._meta
    q = connection.ops.quote_name
    table = q(meta.db_table)
    conflict = ", ".join(q(meta.get_field(name).column) for name in key)
    columns = [q(meta.get_field(name).column) for name in counters]
    add = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in columns)
    # Sorted, so two workers touching the same buckets lock them in the same order.
    rows = [(*bucket, *totals) for bucket, totals in sorted(buckets.items())]
    _insert(model, (*key, *counters), rows, f"ON CONFLICT ({conflict}) DO UPDATE SET {add}")  # nosec B608


def _rollup_add(records: Sequence[UsageRecord]) -> None:
    """Add the inserted events to their daily buckets (insert the bucket or add to it), and
    each error answer to its bucket's count for its status (docs/design.md, metering)."""
    buckets: defaultdict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0] * len(_COUNTERS))
    by_status: defaultdict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0])
    for r in records:
        bucket = (r.occurred_at.astimezone(UTC).date(), *_bucket_of(r))
        totals = buckets[bucket]
        for i, n in enumerate(_counts(r)):
            totals[i] += n
        if _is_error(r):
            by_status[(*bucket, r.status)][0] += 1
    _upsert_add(UsageDaily, ("day", *_BUCKET), _COUNTERS, buckets)
    _upsert_add(UsageErrorDaily, ("day", *_BUCKET, "status"), ("errors",), by_status)


def _last_used_update(records: Sequence[UsageRecord]) -> None:
    """The portal shows when each key was last used: one UPDATE for the whole batch rather
    than one per key, never backwards (``UPDATE ... FROM (VALUES ...)``). Rows are listed
    by key id, so concurrent workers meet the rows in the same order."""
    latest: dict[tuple[int, int], datetime] = {}
    for r in records:
        if r.credential_type != "api_key":
            continue
        key = (r.account_id, r.credential_id)
        if key not in latest or r.occurred_at > latest[key]:
            latest[key] = r.occurred_at
    if not latest:
        return
    meta = ApiKey._meta
    q = connection.ops.quote_name
    table = q(meta.db_table)
    pk_col = q(str(meta.pk.column))  # type: ignore[union-attr]
    account_col = q(str(meta.get_field("account").column))
    used_field = meta.get_field("last_used_at")
    used_col = q(str(used_field.column))
    items = sorted(((key_id, account_id), when) for (account_id, key_id), when in latest.items())
    with connection.cursor() as cursor:
        for start in range(0, len(items), _CHUNK):
            chunk = items[start : start + _CHUNK]
            params: list[Any] = []
            for (key_id, account_id), when in chunk:
                params += [key_id, account_id, used_field.get_db_prep_save(when, connection)]
            sql = (
                f"WITH v (key_id, account_id, used) AS (VALUES {', '.join(['(%s, %s, %s)'] * len(chunk))}) "  # noqa: S608 # nosec B608
                f"UPDATE {table} SET {used_col} = v.used FROM v WHERE {table}.{pk_col} = v.key_id "
                f"AND {table}.{account_col} = v.account_id "
                f"AND ({table}.{used_col} IS NULL OR {table}.{used_col} < v.used)"
            )
            cursor.execute(sql, params)


def _is_refusal(record: UsageRecord) -> bool:
    """A call the throttle refused (429 ``rate_limited`` / ``quota_exceeded``): nothing else
    under /v1/ answers 429 (an upstream's 429 is our 503)."""
    return record.status == 429


# Where a month's usage is looked at (usage alerts): an account and the first day of the month.
AccountMonth = tuple[int, date]


def _changes(records: Iterable[UsageRecord]) -> set[AccountMonth]:
    """The (account, UTC month) of the stored events that can make a usage alert due: the
    billable ones, and the live calls the throttle refused (an account at its cap has no
    billable events left to bring an alert whose email failed to the check again)."""
    return {
        (r.account_id, r.occurred_at.astimezone(UTC).date().replace(day=1))
        for r in records
        if r.billable or (_is_refusal(r) and r.mode == "live")
    }


def usage_events_store(*, records: Sequence[UsageRecord], changed: set[AccountMonth] | None = None) -> int:
    """Store events idempotently with their rollups and ``last_used_at``, in one
    transaction; returns how many were new. ``changed``, when given, gets the (account,
    month) of each new event that can make a usage alert due (``_changes``), once stored.

    Refused calls are counted in the rollups (requests and errors) without an event row
    each: a client hammering past its limit would otherwise add a row per refusal. Having
    no row, they are counted at least once rather than exactly once (a batch stored again
    after a worker crash counts its refusals twice); they are never billable.
    """
    unique = _dedupe(records)
    if not unique:
        return 0
    refused = [r for r in unique if _is_refusal(r)]
    kept = [r for r in unique if not _is_refusal(r)] if refused else unique
    with transaction.atomic():
        inserted_ids = _insert_events(kept) if kept else set()
        inserted = [r for r in kept if r.id in inserted_ids]
        _rollup_add([*inserted, *refused])
        _last_used_update([*inserted, *refused])
    if changed is not None:
        changed |= _changes([*inserted, *refused])
    return len(inserted) + len(refused)


def _decoded(entries: Iterable[str | bytes | None]) -> list[UsageRecord]:
    """Stream entries as records; one that can never be stored is dropped, loudly."""
    records: list[UsageRecord] = []
    for raw in entries:
        try:
            records.append(UsageRecord.from_json(raw))  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - any entry that cannot be decoded (not text, not JSON, a field missing, a time out of range, too deep)
            logger.error("dropping malformed usage stream entry %.200r", raw)
            USAGE_EVENTS.labels(sink="lost").inc()
    return records


# What a database refusing an event raises: a value too long or out of range for its column,
# a check failed; OverflowError is SQLite's driver refusing an integer beyond 64 bits
# before the database sees it.
_REFUSED = (DataError, IntegrityError, OverflowError)


def _store_each(records: Sequence[UsageRecord], changed: set[AccountMonth] | None = None) -> int:
    """``usage_events_store`` one record at a time, dropping (loudly) each one the database
    refuses (a value too long or out of range for its column): the rest of the batch is
    stored and acknowledged instead of being retried, and refused, forever."""
    stored = 0
    for record in records:
        try:
            stored += usage_events_store(records=[record], changed=changed)
        except _REFUSED:
            logger.error("dropping a usage event the database refuses: %r", record)
            USAGE_EVENTS.labels(sink="lost").inc()
    return stored


def usage_entries_store(
    *, entries: Sequence[str | bytes | None], changed: set[AccountMonth] | None = None
) -> int:
    """Store the usage worker's stream entries (``UsageRecord.to_json`` texts) exactly once,
    as ``usage_events_store`` does (``changed`` too); returns how many were new.

    A malformed entry never blocks the stream: one that cannot be decoded is dropped with
    an error; when the database refuses the batch, it is stored one event at a time and
    only the events it refuses are dropped.
    """
    records = _decoded(entries)
    try:
        return usage_events_store(records=records, changed=changed)
    except _REFUSED:
        logger.warning("usage batch refused by the database; storing it one event at a time")
    return _store_each(records, changed)


def usage_prune(*, older_than: datetime, batch: int = 10_000) -> int:
    """Delete raw events before ``older_than`` in batches (rollups and invoices stay)."""
    total = 0
    while True:
        ids = list(UsageEvent.objects.filter(occurred_at__lt=older_than).values_list("id", flat=True)[:batch])
        if not ids:
            return total
        with transaction.atomic():
            total += UsageEvent.objects.filter(id__in=ids).delete()[0]
