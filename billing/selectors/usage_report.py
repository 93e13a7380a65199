"""The portal's usage report: where one account's calls went over a period (by day,
endpoint, credential, and errors by HTTP status), and the same rows for CSV export.

Read only from the daily rollups (``UsageDaily``, ``UsageErrorDaily``; docs/design.md,
rollups): raw events are pruned. Every query is filtered by the account, and credential
names come from ``accounts.selectors.credential_labels``, which looks up only that
account's credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from http import HTTPStatus

from django.db.models import Sum
from django.utils import timezone

from accounts.selectors import credential_labels
from billing.endpoints import endpoint_path
from billing.models import UsageDaily, UsageErrorDaily
from billing.selectors.usage import DayUsage, UsageTotals, usage_daily_series
from weatherapi import errors

PERIOD_DAYS = (7, 30, 90)
DEFAULT_PERIOD_DAYS = 30


@dataclass(frozen=True, slots=True)
class Period:
    """The last ``days`` UTC days, today included."""

    start: date
    end: date
    days: int


def usage_period(*, days: int, today: date | None = None) -> Period:
    end = today or timezone.now().date()
    return Period(start=end - timedelta(days=days - 1), end=end, days=days)


@dataclass(frozen=True, slots=True)
class EndpointUsage:
    endpoint: str
    path: str
    requests: int
    billable: int
    errors: int


@dataclass(frozen=True, slots=True)
class CredentialUsage:
    credential_type: str
    credential_id: int
    label: str
    requests: int
    billable: int
    errors: int


@dataclass(frozen=True, slots=True)
class StatusErrors:
    status: int | None  # None: errors rolled up before statuses were (docs/design.md, rollups)
    phrase: str
    codes: tuple[str, ...]  # the problem codes our API answers with this status
    errors: int


@dataclass(frozen=True, slots=True)
class UsageReport:
    period: Period
    totals: UsageTotals
    series: list[DayUsage]  # every day of the period, for the chart
    active_days: list[DayUsage]  # the days with traffic, newest first
    by_endpoint: list[EndpointUsage]
    by_credential: list[CredentialUsage]
    errors_by_status: list[StatusErrors]


@dataclass(frozen=True, slots=True)
class UsageExportRow:
    day: date
    credential_type: str
    credential_id: int
    credential: str
    endpoint: str
    mode: str
    requests: int
    billable: int
    errors: int


def _labels(account_id: int, refs: set[tuple[str, int]]) -> dict[tuple[str, int], str]:
    known = credential_labels(
        account_id=account_id,
        api_key_ids={i for t, i in refs if t == "api_key"},
        oauth_client_ids={i for t, i in refs if t == "oauth"},
    )
    # Usage outlives a deleted OAuth client (its rollups stay for the invoices).
    kind = {"api_key": "API key", "oauth": "OAuth client"}
    return {ref: known.get(ref) or f"deleted {kind.get(ref[0], ref[0])} #{ref[1]}" for ref in refs}


def _codes_by_status() -> dict[int, tuple[str, ...]]:
    """Our problem codes by the HTTP status they are answered with (weatherapi.errors)."""
    codes: dict[int, set[str]] = {}
    pending: list[type[errors.ApplicationError]] = [errors.ApplicationError]
    while pending:
        cls = pending.pop()
        codes.setdefault(cls.status, set()).add(cls.code)
        pending += cls.__subclasses__()
    return {status: tuple(sorted(names)) for status, names in codes.items()}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _errors_by_status(*, account_id: int, start: date, end: date, total_errors: int) -> list[StatusErrors]:
    rows = (
        UsageErrorDaily.objects.filter(account_id=account_id, day__gte=start, day__lte=end)
        .values("status")
        .annotate(n=Sum("errors"))
        .order_by("-n", "status")
    )
    codes = _codes_by_status()
    found = [StatusErrors(r["status"], _phrase(r["status"]), codes.get(r["status"], ()), int(r["n"])) for r in rows]
    unrecorded = total_errors - sum(s.errors for s in found)
    if unrecorded > 0:
        found.append(StatusErrors(None, "status not recorded", (), unrecorded))
    return found


def usage_report(*, account_id: int, period: Period) -> UsageReport:
    """The account's usage over ``period``: five aggregate queries on the rollups (plus
    two for credential names)."""
    start, end = period.start, period.end
    series = usage_daily_series(account_id=account_id, start=start, end=end)
    totals = UsageTotals(
        requests=sum(d.requests for d in series),
        billable=sum(d.billable for d in series),
        errors=sum(d.errors for d in series),
    )
    rollups = UsageDaily.objects.filter(account_id=account_id, day__gte=start, day__lte=end)
    endpoints = (
        rollups.values("endpoint")
        .annotate(requests=Sum("requests"), billable=Sum("billable"), errors=Sum("errors"))
        .order_by("-requests", "endpoint")
    )
    credentials = list(
        rollups.values("credential_type", "credential_id")
        .annotate(requests=Sum("requests"), billable=Sum("billable"), errors=Sum("errors"))
        .order_by("-requests", "credential_type", "credential_id")
    )
    labels = _labels(account_id, {(r["credential_type"], r["credential_id"]) for r in credentials})
    return UsageReport(
        period=period,
        totals=totals,
        series=series,
        active_days=[d for d in reversed(series) if d.requests],
        by_endpoint=[
            EndpointUsage(r["endpoint"], endpoint_path(r["endpoint"]), int(r["requests"]), int(r["billable"]),
                          int(r["errors"]))
            for r in endpoints
        ],
        by_credential=[
            CredentialUsage(r["credential_type"], r["credential_id"],
                            labels[(r["credential_type"], r["credential_id"])],
                            int(r["requests"]), int(r["billable"]), int(r["errors"]))
            for r in credentials
        ],
        errors_by_status=_errors_by_status(account_id=account_id, start=start, end=end, total_errors=totals.errors),
    )


def usage_export_rows(*, account_id: int, period: Period) -> list[UsageExportRow]:
    """The account's rollup rows over ``period`` (day, credential, endpoint, mode), oldest
    first: what the portal's CSV export holds."""
    rows = list(
        UsageDaily.objects.filter(account_id=account_id, day__gte=period.start, day__lte=period.end)
        .order_by("day", "credential_type", "credential_id", "endpoint", "mode")
        .values_list("day", "credential_type", "credential_id", "endpoint", "mode", "requests", "billable", "errors")
    )
    labels = _labels(account_id, {(ct, ci) for _, ct, ci, *_ in rows})
    return [
        UsageExportRow(day, ct, ci, labels[(ct, ci)], endpoint_path(ep), mode, requests, billable, errs)
        for day, ct, ci, ep, mode, requests, billable, errs in rows
    ]
