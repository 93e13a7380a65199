"""Usage reads, all from the daily rollups (never from raw events: those are pruned, and
an aggregate over rollups stays fast at 10,000,000 events a month)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Sum

from billing.models import UsageDaily


@dataclass(frozen=True, slots=True)
class DayUsage:
    day: date
    requests: int
    billable: int
    errors: int


def usage_daily_series(*, account_id: int, start: date, end: date) -> list[DayUsage]:
    """One entry per day from ``start`` to ``end`` inclusive, zero where nothing happened."""
    rows = (
        UsageDaily.objects.filter(account_id=account_id, day__gte=start, day__lte=end)
        .values("day")
        .annotate(requests=Sum("requests"), billable=Sum("billable"), errors=Sum("errors"))
    )
    by_day = {r["day"]: r for r in rows}
    series = []
    # Counted, not stepped past ``end``: the day after 9999-12-31 does not exist.
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        r = by_day.get(day)
        series.append(DayUsage(day, int(r["requests"]), int(r["billable"]), int(r["errors"])) if r
                      else DayUsage(day, 0, 0, 0))
    return series


def usage_billable_for_account(*, account_id: int, start: date, end: date) -> int:
    """Billable requests in [start, end) (live mode only by construction of ``billable``)."""
    return usage_billable_for_accounts(account_ids=[account_id], start=start, end=end).get(account_id, 0)


def usage_billable_for_accounts(*, account_ids: Iterable[int], start: date, end: date) -> dict[int, int]:
    """``usage_billable_for_account`` of several accounts in one query: the portal's and
    ``GET /v1/account``'s number, and the usage alerts'. Accounts with none are left out."""
    rows = (
        UsageDaily.objects.filter(account_id__in=list(account_ids), day__gte=start, day__lt=end)
        .values("account_id")
        .annotate(n=Sum("billable"))
    )
    return {r["account_id"]: int(r["n"] or 0) for r in rows}


def usage_billable_by_account(*, start: date, end: date) -> dict[int, int]:
    """Billable requests in [start, end) for every account: one aggregate query."""
    rows = (
        UsageDaily.objects.filter(day__gte=start, day__lt=end, mode="live", billable__gt=0)
        .values("account_id")
        .annotate(n=Sum("billable"))
    )
    return {r["account_id"]: int(r["n"]) for r in rows}


@dataclass(frozen=True, slots=True)
class UsageTotals:
    requests: int
    billable: int
    errors: int


def usage_month_to_date(*, account_id: int) -> UsageTotals:
    """This calendar month (UTC) so far, for the portal dashboard."""
    from django.utils import timezone

    today = timezone.now().date()
    totals = UsageDaily.objects.filter(account_id=account_id, day__gte=today.replace(day=1), day__lte=today).aggregate(
        requests=Sum("requests"), billable=Sum("billable"), errors=Sum("errors")
    )
    return UsageTotals(int(totals["requests"] or 0), int(totals["billable"] or 0), int(totals["errors"] or 0))
