#!/usr/bin/env python
"""Synthetic usage for the billing scale target: N accounts, M billable events in a month.

Creates accounts (and users) on the given plans, writes the month's usage as daily
rollups (what ``close_billing_period`` reads; ``--raw`` also writes raw events through
the real store, slowly), then times ``close_billing_period`` for that month.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/weatherapi_bench \
        .venv/bin/python scripts/gen_usage.py --accounts 10000 --events 10000000 --period 2026-10

Use a throwaway database: it adds accounts and invoices.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "weatherapi.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402

from accounts.models import Account, User  # noqa: E402
from billing.models import Plan, Subscription, UsageDaily  # noqa: E402
from billing.plans import STANDARD_PLANS  # noqa: E402
from billing.pricing import next_month  # noqa: E402
from billing.services import plan_upsert  # noqa: E402
from billing.services.invoices import billing_period_close  # noqa: E402
from billing.services.usage import UsageRecord, usage_events_store  # noqa: E402

ENDPOINTS = ["weather.current", "weather.forecast", "geocode", "geocode.reverse", "air_quality"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--period", default="2026-10", help="YYYY-MM, must have ended")
    parser.add_argument("--raw", type=int, default=0, help="also store this many raw events through the store")
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    year, month = (int(p) for p in args.period.split("-"))
    period = date(year, month, 1)
    days = (next_month(period) - period).days
    created_at = datetime(year, month, 1, tzinfo=UTC) - timedelta(days=1)

    for spec in STANDARD_PLANS:
        plan_upsert(**spec)
    plans = list(Plan.objects.filter(code__in=[p["code"] for p in STANDARD_PLANS]))

    started = time.perf_counter()
    tag = uuid.uuid4().hex[:8]
    with transaction.atomic():
        users = User.objects.bulk_create(
            [User(email=f"gen-{tag}-{i}@example.com", password="!")  # noqa: S106 - unusable password marker
              for i in range(args.accounts)], batch_size=2000
        )
        users = list(User.objects.filter(email__startswith=f"gen-{tag}-"))
        accounts = Account.objects.bulk_create(
            [Account(owner=u, name=u.email, created_at=created_at) for u in users], batch_size=2000
        )
        accounts = list(Account.objects.filter(owner__email__startswith=f"gen-{tag}-"))
        Subscription.objects.bulk_create(
            [Subscription(account=a, plan=rng.choice(plans), started_at=created_at) for a in accounts],
            batch_size=2000,
        )
    print(f"{len(accounts)} accounts in {time.perf_counter() - started:.1f}s")

    # Spread the events: a few heavy accounts, a long tail (a Pareto-ish split).
    started = time.perf_counter()
    weights = [rng.paretovariate(1.2) for _ in accounts]
    scale = args.events / sum(weights)
    rows = []
    total = 0
    for account, weight in zip(accounts, weights, strict=True):
        n = int(weight * scale)
        total += n
        per_day = max(1, n // days)
        for d in range(days):
            if n <= 0:
                break
            take = min(n, per_day if d < days - 1 else n)
            n -= take
            rows.append(UsageDaily(day=period + timedelta(days=d), account=account, credential_type="api_key",
                                   credential_id=account.pk, endpoint=rng.choice(ENDPOINTS), mode="live",
                                   requests=take, billable=take, errors=0))
    UsageDaily.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
    print(f"{total:,} billable events as {len(rows):,} daily rollups in {time.perf_counter() - started:.1f}s")

    if args.raw:
        started = time.perf_counter()
        batch = []
        for i in range(args.raw):
            a = rng.choice(accounts)
            batch.append(UsageRecord(id=uuid.uuid4(), account_id=a.pk, credential_type="api_key",
                                     credential_id=a.pk, endpoint=rng.choice(ENDPOINTS), mode="live", status=200,
                                     billable=True, cache="hit", latency_ms=5,
                                     occurred_at=datetime(year, month, 1 + i % days, tzinfo=UTC)))
            if len(batch) == 1000:
                usage_events_store(records=batch)
                batch = []
        usage_events_store(records=batch)
        elapsed = time.perf_counter() - started
        print(f"{args.raw:,} raw events through usage_events_store in {elapsed:.1f}s "
              f"({args.raw / elapsed:,.0f}/s)")

    started = time.perf_counter()
    issued = billing_period_close(period=period)
    print(f"close_billing_period {args.period}: {issued} invoices in {time.perf_counter() - started:.2f}s")


if __name__ == "__main__":
    main()
