"""Usage events: recording them at the request, storing them in the database exactly once.

``usage_event_record`` is the metering sink of a request: one XADD to the Redis stream
(never trimmed: MAXLEN would drop events nobody has stored yet), or, without Redis or when
the XADD fails, the event goes straight to the database. ``usage_events_store`` writes
records to the usage tables (that direct path, SQLite, the worker's fallback);
``usage_entries_store`` is the usage worker's: on PostgreSQL the stream's texts are decoded
and stored by one statement, to the same rows.

Exactly once: the event id (a UUIDv7) is made at the request and is the primary key. The
insert is ``INSERT ... ON CONFLICT (id) DO NOTHING RETURNING id`` and only the rows it
actually inserted are added to the daily rollups, in the same transaction. A batch that
is stored again (worker killed before acknowledging, XADD that timed out after Redis took
it and then went to the database as well) inserts nothing and adds nothing.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError, connection, transaction

from accounts.credentials import Principal
from accounts.models import ApiKey
from billing.endpoints import is_billable
from billing.models import UsageDaily, UsageEvent
from billing.redis_conn import redis_client, redis_failed
from weatherapi.metrics import USAGE_EVENTS, labelled

logger = logging.getLogger(__name__)

# Rows per INSERT statement: 11 parameters a row stays far below SQLite's and
# PostgreSQL's parameter limits.
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
        # Decoded first: json.loads on bytes sniffs their encoding, a third of its time.
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
        billable=is_billable(endpoint=endpoint, status=status, mode=principal.mode),
        cache=cache,
        latency_ms=latency_ms,
        occurred_at=datetime.fromtimestamp(now, tz=UTC),
        request_id=request_id[:64],
    )


def usage_event_record(*, record: UsageRecord) -> str | None:
    """Put one event where the worker (or nobody, if it went to the database) picks it up.

    Returns the sink ("stream" or "database"), or None when neither took it.
    """
    client = redis_client()
    if client is not None:
        try:
            client.xadd(settings.USAGE_STREAM_KEY, {"e": record.to_json()})
            labelled(USAGE_EVENTS, "stream").inc()
            return "stream"
        except Exception as e:  # noqa: BLE001 - any Redis failure: go to the database
            redis_failed(e, what="metering")
    try:
        usage_events_store(records=[record])
    except DatabaseError:
        logger.exception("usage event could not be stored in Redis or the database")
        connection.close_if_unusable_or_obsolete()
        USAGE_EVENTS.labels(sink="lost").inc()
        return None
    USAGE_EVENTS.labels(sink="database").inc()
    return "database"


def _dedupe(records: Iterable[UsageRecord]) -> list[UsageRecord]:
    seen: dict[uuid.UUID, UsageRecord] = {}
    for record in records:
        seen.setdefault(record.id, record)
    return list(seen.values())


_EVENT_FIELDS = [
    "id", "account", "credential_type", "credential_id", "endpoint", "mode", "status",
    "billable", "cache", "latency_ms", "occurred_at", "request_id",
]


def _event_fields() -> list[Any]:
    return [UsageEvent._meta.get_field(name) for name in _EVENT_FIELDS]


def _event_columns() -> str:
    """The event table's columns in ``_EVENT_FIELDS`` order, quoted, for an INSERT."""
    return ", ".join(connection.ops.quote_name(f.column) for f in _event_fields())


def _event_values(r: UsageRecord) -> list[Any]:
    """A record's values in ``_EVENT_FIELDS`` order."""
    return [r.id, r.account_id, r.credential_type, r.credential_id, r.endpoint, r.mode,
            r.status, r.billable, r.cache or "", r.latency_ms, r.occurred_at, r.request_id]


def _server_bound_cursor() -> Any:
    """A cursor of the current connection (and transaction) whose parameters psycopg sends
    apart from the SQL, in binary where asked (``%b``), instead of Django's default
    client-side binding. Wrapped as Django wraps its own cursors: database errors become
    ``django.db`` errors (the worker retries on ``DatabaseError``) and tests capture the
    query. PostgreSQL only."""
    import psycopg

    connection.ensure_connection()
    raw: Any = psycopg.Cursor(connection.connection)  # django-stubs types the argument as Django's own wrapper
    return connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)


def _insert_events(records: Sequence[UsageRecord]) -> set[uuid.UUID]:
    """Insert, skipping ids already stored; returns the ids this statement inserted."""
    meta = UsageEvent._meta
    fields = _event_fields()
    table = connection.ops.quote_name(meta.db_table)
    columns = _event_columns()
    pk: Any = meta.pk
    inserted: set[uuid.UUID] = set()
    conflict = (
        f"ON CONFLICT ({connection.ops.quote_name(pk.column)}) DO NOTHING "
        f"RETURNING {connection.ops.quote_name(pk.column)}"
    )
    if connection.vendor == "postgresql":
        # One array per column and unnest(): the statement has twelve placeholders however
        # many rows. A VALUES list of 500 rows had 6,000, and splitting that text on every
        # batch was ~40 % of the worker's CPU. The arrays go as binary parameters of a
        # server-bound statement (``_server_bound_cursor``): Django's client-side binding
        # would quote every element of every array as text, one regex search each (12 per
        # event: about a quarter of the worker's CPU, docs/performance.md).
        # varchar without its length: an explicit cast to varchar(n) would truncate, while
        # the insert itself refuses an over-long value, as the VALUES form did.
        arrays = ", ".join(f"%b::{re.sub(r'[(][0-9]+[)]', '', f.db_type(connection))}[]" for f in fields)
        sql = f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) {conflict}"  # noqa: S608 # nosec B608
        with _server_bound_cursor() as cursor:
            for start in range(0, len(records), _CHUNK):
                rows = [_event_values(r) for r in records[start : start + _CHUNK]]
                cursor.execute(sql, [list(column) for column in zip(*rows, strict=True)])
                inserted.update(pk.to_python(value) for (value,) in cursor.fetchall())
        return inserted
    # Elsewhere (SQLite) Django prepares the values: a UUID is 32 hex characters there.
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(records), _CHUNK):
            chunk = records[start : start + _CHUNK]
            params: list[Any] = []
            for r in chunk:
                params += [f.get_db_prep_save(v, connection) for f, v in zip(fields, _event_values(r), strict=True)]
            sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(chunk))} {conflict}"  # noqa: S608 # nosec B608
            cursor.execute(sql, params)
            inserted.update(pk.to_python(value) for (value,) in cursor.fetchall())
    return inserted


def _rollup_add(records: Sequence[UsageRecord]) -> None:
    """Add the inserted events to their daily buckets (insert or increment, one statement)."""
    buckets: dict[tuple[date, int, str, int, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in records:
        key = (r.occurred_at.astimezone(UTC).date(), r.account_id, r.credential_type, r.credential_id,
               r.endpoint, r.mode)
        counts = buckets[key]
        counts[0] += 1
        counts[1] += int(r.billable)
        counts[2] += int(r.status >= 400)
    if not buckets:
        return
    meta = UsageDaily._meta
    q = connection.ops.quote_name
    table = q(meta.db_table)
    day_field = meta.get_field("day")
    # Sorted, so two workers touching the same buckets lock them in the same order.
    items = sorted(buckets.items())
    with connection.cursor() as cursor:
        for start in range(0, len(items), _CHUNK):
            chunk = items[start : start + _CHUNK]
            params: list[Any] = []
            for (day, account_id, ctype, cid, endpoint, mode), (n, billable, errors) in chunk:
                params += [day_field.get_db_prep_save(day, connection), account_id, ctype, cid, endpoint,
                           mode, n, billable, errors]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
            sql = (
                f"INSERT INTO {table} (day, account_id, credential_type, credential_id, endpoint, mode, "  # noqa: S608 # nosec B608
                f"requests, billable, errors) VALUES {values} "
                "ON CONFLICT (day, account_id, credential_type, credential_id, endpoint, mode) DO UPDATE SET "
                f"requests = {table}.requests + excluded.requests, "
                f"billable = {table}.billable + excluded.billable, "
                f"errors = {table}.errors + excluded.errors"
            )
            cursor.execute(sql, params)


def _last_used_update(records: Sequence[UsageRecord]) -> None:
    """The portal shows when each key was last used: one UPDATE for the whole batch, never
    backwards (``UPDATE ... FROM (VALUES ...)``; PostgreSQL, and SQLite >= 3.33).

    It was one UPDATE per key per batch: at 1,000 events over ~630 keys that capped the
    worker at ~1,400 events/s (docs/performance.md). Rows are listed by key id, so
    concurrent workers meet the rows in the same order.
    """
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
    if connection.vendor == "postgresql":
        row = "(%s::bigint, %s::bigint, %s::timestamptz)"
    else:
        row = "(%s, %s, %s)"
    items = sorted(((key_id, account_id), when) for (account_id, key_id), when in latest.items())
    with connection.cursor() as cursor:
        for start in range(0, len(items), _CHUNK):
            chunk = items[start : start + _CHUNK]
            params: list[Any] = []
            for (key_id, account_id), when in chunk:
                params += [key_id, account_id, used_field.get_db_prep_save(when, connection)]
            sql = (
                f"WITH v (key_id, account_id, used) AS (VALUES {', '.join([row] * len(chunk))}) "  # noqa: S608 # nosec B608
                f"UPDATE {table} SET {used_col} = v.used FROM v WHERE {table}.{pk_col} = v.key_id "
                f"AND {table}.{account_col} = v.account_id "
                f"AND ({table}.{used_col} IS NULL OR {table}.{used_col} < v.used)"
            )
            cursor.execute(sql, params)


def usage_events_store(*, records: Sequence[UsageRecord]) -> int:
    """Store events idempotently with their rollups; returns how many were new."""
    unique = _dedupe(records)
    if not unique:
        return 0
    with transaction.atomic():
        inserted_ids = _insert_events(unique)
        inserted = [r for r in unique if r.id in inserted_ids]
        _rollup_add(inserted)
        _last_used_update(inserted)
    return len(inserted)


def _decoded(entries: Iterable[str | bytes | None]) -> list[UsageRecord]:
    """Stream entries as records; one that can never be stored is dropped, loudly."""
    records: list[UsageRecord] = []
    for raw in entries:
        try:
            records.append(UsageRecord.from_json(raw))  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - any entry that cannot be decoded (not JSON, a field missing, a time out of range, too deep)
            logger.error("dropping malformed usage stream entry %.200r", raw)
    return records


def _store_each(records: Sequence[UsageRecord]) -> int:
    """``usage_events_store`` one record at a time, dropping (loudly) each one the database
    refuses (a value too long or out of range for its column): the rest of the batch is
    stored and acknowledged instead of being retried, and refused, forever."""
    stored = 0
    for record in records:
        try:
            with transaction.atomic():
                stored += usage_events_store(records=[record])
        except (DataError, IntegrityError):
            logger.error("dropping a usage event the database refuses: %r", record)
            USAGE_EVENTS.labels(sink="lost").inc()
    return stored


def usage_entries_store(*, entries: Sequence[str | bytes | None]) -> int:
    """Store the usage worker's stream entries (``UsageRecord.to_json`` texts) exactly once,
    with their rollups and ``last_used_at``, as ``usage_events_store`` does; returns how many
    were new.

    On PostgreSQL the texts go to the database as they are: one statement decodes them
    (``json_to_record``), inserts the new events and adds the rows it inserted to the daily
    rollups. Decoding ~200 events a batch in Python, building twelve arrays of them and
    adding them up was most of the worker's CPU, on the cores the web workers share
    (docs/performance.md). A batch the statement refuses (an entry that is not JSON, lacks
    a field, has one of the wrong type or a time out of range) takes the Python path
    instead, which drops such entries with an error and stores the rest; a record the
    database still refuses there (a value too long for its column) is dropped the same way,
    alone. A malformed entry never blocks the stream.
    """
    texts = _texts(entries)
    if texts and connection.vendor == "postgresql":
        try:
            with transaction.atomic():
                return _store_texts(texts)
        except (DataError, IntegrityError) as e:
            logger.warning("usage batch not decodable by the database (%s); decoding it here", type(e).__name__)
    records = _decoded(entries)
    try:
        with transaction.atomic():
            return usage_events_store(records=records)
    except (DataError, IntegrityError):
        logger.warning("usage batch refused by the database; storing it one event at a time")
    return _store_each(records)


def _texts(entries: Sequence[str | bytes | None]) -> list[str] | None:
    """The entries as text, or None when one is not text at all (the Python path drops it)."""
    try:
        texts = [raw.decode() if isinstance(raw, bytes) else raw for raw in entries]
    except UnicodeDecodeError:
        return None
    return texts if all(isinstance(text, str) for text in texts) else None  # type: ignore[return-value]


def _store_texts(texts: list[str]) -> int:
    """``usage_entries_store``'s statements (PostgreSQL, in the caller's transaction)."""
    q = connection.ops.quote_name
    events, daily, keys = (q(model._meta.db_table) for model in (UsageEvent, UsageDaily, ApiKey))
    columns = _event_columns()
    bucket = "day, account_id, credential_type, credential_id, endpoint, mode"
    # The values in _EVENT_FIELDS order, with the same conversions as UsageRecord.from_json
    # (for what to_json writes: to_timestamp rounds those times to the microsecond as
    # datetime.fromtimestamp does). A time outside the years 1-9999, which Python cannot
    # hold (nor read back through the ORM), becomes NULL: the NOT NULL refusal sends the
    # batch to the Python path, which drops the entry. ON CONFLICT DO NOTHING also skips an
    # id repeated in the batch. Rollup buckets are upserted and keys locked in key order, as
    # _rollup_add and _last_used_update do, so that concurrent workers take their locks in
    # one order; last_used_at never goes backwards. Table names come from the models;
    # values are bound.
    sql = f"""
        WITH inserted AS (
            INSERT INTO {events} ({columns})
            SELECT e.id, e.a, e.ct, e.ci, left(e.ep, 40), e.m, e.s, e.b <> 0, coalesce(e.c, ''), e.l,
                   to_timestamp(CASE WHEN e.t >= -62135596800 AND e.t < 253402300800 THEN e.t END),
                   left(coalesce(e.r, ''), 64)
            FROM unnest(%b::text[]) AS entry (text)
            CROSS JOIN LATERAL json_to_record(entry.text::json) AS e (
                id uuid, a bigint, ct text, ci bigint, ep text, m text, s integer, b integer, c text,
                l bigint, t double precision, r text)
            ON CONFLICT (id) DO NOTHING
            RETURNING account_id, credential_type, credential_id, endpoint, mode, status, billable, occurred_at
        ), rolled_up AS (
            INSERT INTO {daily} ({bucket}, requests, billable, errors)
            SELECT (occurred_at AT TIME ZONE 'UTC')::date, account_id, credential_type, credential_id, endpoint,
                   mode, count(*), count(*) FILTER (WHERE billable), count(*) FILTER (WHERE status >= 400)
            FROM inserted GROUP BY 1, 2, 3, 4, 5, 6
            ORDER BY 1, 2, credential_type COLLATE "C", 4, endpoint COLLATE "C", mode COLLATE "C"  -- code points, as _rollup_add
            ON CONFLICT ({bucket}) DO UPDATE SET
                requests = {daily}.requests + excluded.requests,
                billable = {daily}.billable + excluded.billable,
                errors = {daily}.errors + excluded.errors
        ), newest AS (
            SELECT k.id, used.at
            FROM {keys} AS k
            JOIN (SELECT account_id, credential_id, max(occurred_at) AS at FROM inserted
                  WHERE credential_type = 'api_key' GROUP BY 1, 2) AS used
              ON k.id = used.credential_id AND k.account_id = used.account_id
            WHERE k.last_used_at IS NULL OR k.last_used_at < used.at
            ORDER BY k.id
            FOR UPDATE OF k
        ), touched AS (
            UPDATE {keys} AS k SET last_used_at = newest.at FROM newest WHERE k.id = newest.id
        )
        SELECT count(*) FROM inserted
    """  # noqa: S608 # nosec B608
    with _server_bound_cursor() as cursor:
        cursor.execute(sql, [texts])
        (inserted,) = cursor.fetchone()
    return int(inserted)


def usage_prune(*, older_than: datetime, batch: int = 10_000) -> int:
    """Delete raw events before ``older_than`` in batches (rollups and invoices stay)."""
    total = 0
    while True:
        ids = list(UsageEvent.objects.filter(occurred_at__lt=older_than).values_list("id", flat=True)[:batch])
        if not ids:
            return total
        with transaction.atomic():
            total += UsageEvent.objects.filter(id__in=ids).delete()[0]
