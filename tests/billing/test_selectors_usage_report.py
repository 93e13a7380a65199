"""The portal's usage report (billing/selectors/usage_report.py): from the rollups only,
scoped to one account, credentials named only from that account."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from accounts import services
from billing.models import UsageDaily, UsageErrorDaily
from billing.selectors.usage import DayUsage
from billing.selectors.usage_report import (
    StatusErrors,
    usage_export_rows,
    usage_period,
    usage_report,
)
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 30)


def rollup(account, day: date, *, ct: str = "api_key", ci: int = 1, endpoint: str = "weather.current",
           mode: str = "live", requests: int = 1, billable: int = 0, errors: int = 0,
           statuses: dict[int, int] | None = None) -> None:
    UsageDaily.objects.create(day=day, account=account, credential_type=ct, credential_id=ci, endpoint=endpoint,
                              mode=mode, requests=requests, billable=billable, errors=errors)
    for status, n in (statuses or {}).items():
        UsageErrorDaily.objects.create(day=day, account=account, credential_type=ct, credential_id=ci,
                                       endpoint=endpoint, mode=mode, status=status, errors=n)


def test_the_period_is_the_last_n_utc_days_today_included():
    period = usage_period(days=7, today=TODAY)
    assert (period.start, period.end, period.days) == (date(2026, 11, 24), TODAY, 7)


def test_report_breaks_calls_down_by_endpoint_credential_and_status(account):
    key, _ = services.api_key_create(account=account, mode="live", name="backend")
    unnamed, _ = services.api_key_create(account=account, mode="test")
    client, _ = services.oauth_client_create(account=account, name="etl job", mode="live")
    day = TODAY - timedelta(days=2)
    rollup(account, day, ci=key.pk, requests=100, billable=90, errors=10, statuses={404: 6, 429: 4})
    rollup(account, day, ci=key.pk, endpoint="geocode", requests=20, billable=20)
    rollup(account, TODAY, ci=unnamed.pk, mode="test", requests=5, errors=1, statuses={400: 1})
    rollup(account, TODAY, ct="oauth", ci=client.pk, endpoint="air_quality", requests=7, billable=7)

    report = usage_report(account_id=account.pk, period=usage_period(days=7, today=TODAY))

    assert (report.totals.requests, report.totals.billable, report.totals.errors) == (132, 117, 11)
    assert [(e.path, e.requests, e.billable, e.errors) for e in report.by_endpoint] == [
        ("/v1/weather/current", 105, 90, 11), ("/v1/geocode", 20, 20, 0), ("/v1/air-quality", 7, 7, 0)]
    assert [(c.label, c.requests, c.errors) for c in report.by_credential] == [
        (f"backend ({key.prefix}…)", 120, 10), ("etl job", 7, 0), (f"{unnamed.prefix}…", 5, 1)]
    assert [(s.status, s.errors) for s in report.errors_by_status] == [(404, 6), (429, 4), (400, 1)]
    assert report.errors_by_status[1] == StatusErrors(429, "Too Many Requests", ("quota_exceeded", "rate_limited"), 4)
    assert len(report.series) == 7


def test_only_days_with_calls_are_listed_newest_first(account):
    rollup(account, TODAY - timedelta(days=5), requests=3)
    rollup(account, TODAY - timedelta(days=1), requests=2, errors=2, statuses={503: 2})
    report = usage_report(account_id=account.pk, period=usage_period(days=30, today=TODAY))
    assert report.active_days == [DayUsage(TODAY - timedelta(days=1), 2, 0, 2), DayUsage(TODAY - timedelta(days=5), 3, 0, 0)]
    assert len(report.series) == 30 and sum(d.requests for d in report.series) == 5


def test_the_period_bounds_every_figure(account):
    rollup(account, TODAY - timedelta(days=7), requests=1000, errors=1000, statuses={500: 1000})  # 8 days ago
    rollup(account, TODAY + timedelta(days=1), requests=1000)  # not yet (a clock ahead of ours)
    rollup(account, TODAY - timedelta(days=6), requests=1)
    report = usage_report(account_id=account.pk, period=usage_period(days=7, today=TODAY))
    assert report.totals.requests == 1 and report.errors_by_status == []
    assert [r.requests for r in usage_export_rows(account_id=account.pk, period=usage_period(days=7, today=TODAY))] == [1]


def test_errors_rolled_up_before_statuses_were_are_shown_as_not_recorded(account):
    rollup(account, TODAY - timedelta(days=3), requests=9, errors=5)  # no status rows: before the table existed
    rollup(account, TODAY, requests=2, errors=2, statuses={404: 2})
    report = usage_report(account_id=account.pk, period=usage_period(days=7, today=TODAY))
    assert [(s.status, s.errors) for s in report.errors_by_status] == [(404, 2), (None, 5)]


def test_another_accounts_usage_and_credentials_never_appear(account):
    other = AccountFactory()
    their_key, _ = services.api_key_create(account=other, mode="live", name="their secret project")
    rollup(other, TODAY, ci=their_key.pk, requests=999, errors=9, statuses={401: 9})
    # A rollup of ours naming their key's id (it cannot happen; the name must not leak if it did).
    rollup(account, TODAY, ci=their_key.pk, requests=1)
    period = usage_period(days=7, today=TODAY)
    report = usage_report(account_id=account.pk, period=period)
    assert report.totals.requests == 1 and report.errors_by_status == []
    assert [c.label for c in report.by_credential] == [f"deleted API key #{their_key.pk}"]
    assert [(r.credential, r.requests) for r in usage_export_rows(account_id=account.pk, period=period)] == [
        (f"deleted API key #{their_key.pk}", 1)]


def test_a_deleted_oauth_clients_usage_stays_labelled(account):
    client, _ = services.oauth_client_create(account=account, name="gone", mode="live")
    rollup(account, TODAY, ct="oauth", ci=client.pk, requests=4)
    client_pk = client.pk
    services.oauth_client_delete(client=client)
    report = usage_report(account_id=account.pk, period=usage_period(days=7, today=TODAY))
    assert [(c.label, c.requests) for c in report.by_credential] == [(f"deleted OAuth client #{client_pk}", 4)]


def test_export_rows_are_the_rollup_rows_oldest_first(account):
    key, _ = services.api_key_create(account=account, mode="live", name="web")
    rollup(account, TODAY, ci=key.pk, endpoint="geocode.reverse", requests=3, billable=3)
    rollup(account, TODAY - timedelta(days=1), ci=key.pk, requests=5, billable=4, errors=1)
    rows = usage_export_rows(account_id=account.pk, period=usage_period(days=7, today=TODAY))
    assert [(r.day, r.credential, r.endpoint, r.mode, r.requests, r.billable, r.errors) for r in rows] == [
        (TODAY - timedelta(days=1), f"web ({key.prefix}…)", "/v1/weather/current", "live", 5, 4, 1),
        (TODAY, f"web ({key.prefix}…)", "/v1/geocode/reverse", "live", 3, 3, 0),
    ]
