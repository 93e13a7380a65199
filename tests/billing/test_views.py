"""/v1/account, /v1/account/usage, /v1/account/invoices: shapes, validation, scoping."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import UsageDaily
from billing.services.invoices import billing_period_close
from tests.billing.conftest import make_plan, subscribe
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def _usage(account, *, day: date, billable: int, requests: int | None = None, errors: int = 0) -> None:
    UsageDaily.objects.create(day=day, account=account, credential_type="api_key", credential_id=1,
                              endpoint="weather.current", mode="live", requests=requests or billable,
                              billable=billable, errors=errors)


def test_account_shows_plan_quota_and_upcoming_invoice(account, live_client, settings):
    settings.REDIS_URL = None
    subscribe(account, make_plan("metered", included=100, overage=Decimal("0.5000"), fee=Decimal("9.99")))
    today = timezone.now().date()
    _usage(account, day=today, billable=1100, requests=1200, errors=100)
    _usage(AccountFactory(), day=today, billable=5000)  # someone else's
    body = live_client.get("/v1/account").json()
    assert body["id"] == account.pk
    assert body["plan"] == {"code": "metered", "name": "Metered", "monthly_fee": "9.99", "requests_per_minute": 1000,
                            "included_requests": 100, "overage_per_1000": "0.5000", "hard_cap": False}
    assert body["billable_requests"] == 1100
    # The quota counts billable requests (not the 100 errors): one number with billable_requests.
    assert body["quota"]["used"] == 1100 and body["quota"]["remaining"] == 0
    assert body["period"]["start"] == today.replace(day=1).isoformat()
    # 9.99 + ceil(1000 × 0.5 / 1000) = 10.49
    assert body["upcoming_invoice"]["total"] == "10.49"
    assert [line["kind"] for line in body["upcoming_invoice"]["lines"]] == ["fee", "overage"]


def test_account_quota_counts_the_live_counter_with_redis(redis, account, live_client, upstream):
    subscribe(account, make_plan("capped", included=10))
    for _ in range(3):
        live_client.get("/v1/weather/current", {"lat": "51.5", "lon": "-0.12"})
    quota = live_client.get("/v1/account").json()["quota"]
    assert quota["used"] == 3 and quota["remaining"] == 7 and quota["hard_cap"] is True


def test_usage_series_default_last_30_days_zero_filled(account, live_client):
    today = timezone.now().date()
    _usage(account, day=today - timedelta(days=2), billable=7, errors=1)
    _usage(account, day=today - timedelta(days=40), billable=99)
    body = live_client.get("/v1/account/usage").json()
    assert len(body["days"]) == 30 and body["end"] == today.isoformat()
    assert body["totals"] == {"requests": 7, "billable": 7, "errors": 1}
    day = next(d for d in body["days"] if d["date"] == (today - timedelta(days=2)).isoformat())
    assert day == {"date": (today - timedelta(days=2)).isoformat(), "requests": 7, "billable": 7, "errors": 1}


@pytest.mark.parametrize("params", [{"start": "2026-13-01"}, {"start": "yesterday"}, {"end": "2026-02-30"}])
def test_usage_invalid_parameters(live_client, params):
    answer = live_client.get("/v1/account/usage", params)
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_parameter"


def test_usage_start_after_end_is_an_empty_series(live_client):
    body = live_client.get("/v1/account/usage", {"start": "2026-05-02", "end": "2026-05-01"}).json()
    assert body["days"] == [] and body["totals"] == {"requests": 0, "billable": 0, "errors": 0}


def test_usage_span_is_capped_at_366_days_ending_at_end(live_client):
    body = live_client.get("/v1/account/usage", {"start": "2024-01-01", "end": "2025-06-01"}).json()
    assert (body["start"], body["end"], len(body["days"])) == ("2024-06-01", "2025-06-01", 366)


def test_usage_dates_near_year_one_do_not_overflow(live_client):
    body = live_client.get("/v1/account/usage", {"end": "0001-01-05"}).json()
    assert body["start"] == "0001-01-01" and len(body["days"]) == 5


def test_usage_span_of_366_days_is_allowed(live_client):
    answer = live_client.get("/v1/account/usage", {"start": "2024-01-01", "end": "2024-12-31"})
    assert answer.status_code == 200 and len(answer.json()["days"]) == 366


def test_invoices_are_scoped_to_the_caller(account, live_client):
    other = AccountFactory()
    for a in (account, other):
        a.created_at = datetime(2026, 9, 1, tzinfo=UTC)
        a.save(update_fields=["created_at"])
    subscribe(account, make_plan("dev", included=0, overage=Decimal("1.0000"), fee=Decimal("3.00")))
    from billing.models import Subscription

    Subscription.objects.filter(account=account).update(started_at=datetime(2026, 9, 2, tzinfo=UTC))
    _usage(account, day=date(2026, 10, 4), billable=2000)
    billing_period_close(period=date(2026, 10, 1))
    invoices = live_client.get("/v1/account/invoices").json()["invoices"]
    assert len(invoices) == 1
    invoice = invoices[0]
    assert invoice["period"] == "2026-10" and invoice["total"] == "5.00"
    assert [(line["kind"], line["amount"]) for line in invoice["lines"]] == [("fee", "3.00"), ("overage", "2.00")]


def test_account_endpoints_need_account_read_scope(account, db):
    from accounts.credentials import resolve_bearer_token  # noqa: F401 - the token path exists
    from tests.factories import oauth_client_for
    from tests.support.client import routed_api_client

    client_row, secret = oauth_client_for(account)
    from oauth2_provider.models import AccessToken

    AccessToken.objects.create(application=client_row.application, token="tok-weather-only-0123456789",
                               scope="weather:read", expires=timezone.now() + timedelta(hours=1))
    api = routed_api_client()
    api.credentials(HTTP_AUTHORIZATION="Bearer tok-weather-only-0123456789")
    answer = api.get("/v1/account")
    assert answer.status_code == 403 and answer.json()["code"] == "permission_denied"
    # Authenticated error: the rate-limit headers are there too (read, not counted).
    assert answer["RateLimit"].startswith('"minute";r=')
