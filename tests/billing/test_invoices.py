"""close_billing_period: hand-computed totals, idempotent, concurrent-safe, immutable."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from billing.models import ImmutableError, Invoice, Subscription, UsageDaily
from billing.pricing import ceil_to_cent, invoice_draft, previous_month
from billing.services.invoices import billing_period_close
from tests.billing.conftest import make_plan, subscribe
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

PERIOD = date(2026, 10, 1)


def _usage(account, *, day: date, billable: int, mode: str = "live", endpoint: str = "weather.current") -> None:
    UsageDaily.objects.create(day=day, account=account, credential_type="api_key", credential_id=1,
                              endpoint=endpoint, mode=mode, requests=billable + 5, billable=billable, errors=5)


def _old_account():
    account = AccountFactory()
    account.created_at = datetime(2026, 9, 1, tzinfo=UTC)
    account.save(update_fields=["created_at"])
    return account


def _subscribe_before(account, plan, when=datetime(2026, 9, 15, tzinfo=UTC)):
    subscribe(account, plan)
    Subscription.objects.filter(account=account, plan=plan).update(started_at=when)


def test_ceil_to_cent_rounds_up():
    assert ceil_to_cent(Decimal("0.001")) == Decimal("0.01")
    assert ceil_to_cent(Decimal("1.50")) == Decimal("1.50")
    assert ceil_to_cent(Decimal("-0.005")) == Decimal("0.00")


def test_metered_plan_total_matches_hand_computation():
    plan = make_plan("metered", included=1_000, overage=Decimal("0.1500"), fee=Decimal("40.00"))
    account = _old_account()
    _subscribe_before(account, plan)
    _usage(account, day=date(2026, 10, 3), billable=1_200)
    _usage(account, day=date(2026, 10, 31), billable=1_033)
    _usage(account, day=date(2026, 11, 1), billable=999_999)  # next period
    _usage(account, day=date(2026, 10, 5), billable=50_000, mode="test")  # never billed
    assert billing_period_close(period=PERIOD) == 1
    invoice = Invoice.objects.get(account=account)
    # 2,233 billable - 1,000 included = 1,233 overage; 1,233 × 0.15 / 1000 = 0.18495 → 0.19
    lines = {line.kind: line for line in invoice.lines.all()}
    assert lines["fee"].amount == Decimal("40.00")
    assert lines["overage"].quantity == 1_233 and lines["overage"].amount == Decimal("0.19")
    assert invoice.total == Decimal("40.19")
    assert invoice.billable_requests == 2_233 and invoice.number.startswith("WX-")


def test_hard_capped_plan_has_no_overage_line():
    draft = invoice_draft(plan=make_plan("capped", included=10), billable_requests=50)
    assert draft.lines == () and draft.total == Decimal("0.00")


def test_plan_in_force_at_period_end_applies():
    cheap = make_plan("cheap", included=0, overage=Decimal("1.0000"))
    dear = make_plan("dear", included=0, overage=Decimal("2.0000"), fee=Decimal("10.00"))
    account = _old_account()
    _subscribe_before(account, cheap, datetime(2026, 9, 1, tzinfo=UTC))
    Subscription.objects.create(account=account, plan=dear, started_at=datetime(2026, 10, 20, tzinfo=UTC))
    Subscription.objects.create(account=account, plan=cheap, started_at=datetime(2026, 11, 2, tzinfo=UTC))
    _usage(account, day=date(2026, 10, 10), billable=1000)
    billing_period_close(period=PERIOD)
    invoice = Invoice.objects.get(account=account)
    assert invoice.plan_code == "dear" and invoice.total == Decimal("12.00")


def test_closing_twice_issues_one_invoice(capsys):
    account = _old_account()
    call_command("close_billing_period", "--period", "2026-10")
    call_command("close_billing_period", "--period", "2026-10")
    assert Invoice.objects.filter(account=account).count() == 1
    assert "issued 0 invoices" in capsys.readouterr().out
    assert Invoice.objects.get(account=account).total == Decimal("0.00")  # free plan statement


def test_accounts_created_after_the_period_are_not_invoiced():
    AccountFactory()  # created now, after October 2026 ended? only if now is later
    old = _old_account()
    billing_period_close(period=PERIOD)
    assert list(Invoice.objects.values_list("account_id", flat=True)) == [old.pk]


def test_open_period_is_refused():
    with pytest.raises(CommandError):
        call_command("close_billing_period", "--period", "2999-01")
    with pytest.raises(CommandError):
        call_command("close_billing_period", "--period", "2026-13")


def test_default_period_is_the_month_that_just_ended():
    assert previous_month(date(2026, 1, 15)) == date(2025, 12, 1)
    assert previous_month(date(2026, 11, 1)) == date(2026, 10, 1)


def test_issued_invoices_never_change():
    _old_account()
    billing_period_close(period=PERIOD)
    invoice = Invoice.objects.get()
    invoice.total = Decimal("1.00")
    with pytest.raises(ImmutableError):
        invoice.save()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_closes_issue_each_invoice_once():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers; the race needs PostgreSQL")
    plan = make_plan("metered", included=0, overage=Decimal("1.0000"), fee=Decimal("5.00"))
    accounts = [_old_account() for _ in range(30)]
    for account in accounts:
        _subscribe_before(account, plan)
        _usage(account, day=date(2026, 10, 2), billable=1000)
    issued: list[int] = []
    barrier = threading.Barrier(2)

    def close() -> None:
        barrier.wait()
        try:
            issued.append(billing_period_close(period=PERIOD))
        finally:
            connection.close()

    threads = [threading.Thread(target=close) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(issued) == 30
    assert Invoice.objects.count() == 30
    # The runs took turns on the sequence: 30 consecutive numbers, none spent twice or lost.
    year = Invoice.objects.first().issued_at.year
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [f"WX-{year}-{n:06d}" for n in range(1, 31)]
    for invoice in Invoice.objects.prefetch_related("lines"):
        assert len(invoice.lines.all()) == 2 and invoice.total == Decimal("6.00")


# --- Issue 19, item 14: opaque, consecutive invoice numbers -----------------------------------


def test_invoice_numbers_are_consecutive_per_year_and_carry_no_account_id():
    accounts = [_old_account() for _ in range(3)]
    assert billing_period_close(period=PERIOD, now=datetime(2026, 11, 2, tzinfo=UTC)) == 3
    numbers = dict(Invoice.objects.values_list("account_id", "number"))
    assert [numbers[a.pk] for a in accounts] == ["WX-2026-000001", "WX-2026-000002", "WX-2026-000003"]
    # Closing again issues nothing and spends no number; the next month continues the count.
    assert billing_period_close(period=PERIOD, now=datetime(2026, 11, 3, tzinfo=UTC)) == 0
    billing_period_close(period=date(2026, 11, 1), now=datetime(2026, 12, 1, 1, tzinfo=UTC))
    november = sorted(Invoice.objects.filter(period=date(2026, 11, 1)).values_list("number", flat=True))
    assert november == ["WX-2026-000004", "WX-2026-000005", "WX-2026-000006"]
    # A new year of issue starts again at 1.
    billing_period_close(period=date(2026, 12, 1), now=datetime(2027, 1, 1, 1, tzinfo=UTC))
    assert sorted(Invoice.objects.filter(period=date(2026, 12, 1)).values_list("number", flat=True))[0] == "WX-2027-000001"
    for account in accounts:  # the old format was WX-<yyyymm>-<account id>
        assert not Invoice.objects.filter(number__endswith=f"-{account.pk:07d}").exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_production_invoice_list_shows_opaque_numbers(tmp_path):
    import re

    import requests

    from tests.factories import api_key_for
    from tests.support.production import HTTPS, production_server

    account = _old_account()
    key = api_key_for(account, mode="live")
    billing_period_close(period=PERIOD, now=datetime(2026, 11, 2, tzinfo=UTC))
    with production_server(tmp_path) as server:
        response = requests.get(f"{server.url}/v1/account/invoices", headers={**HTTPS, "X-API-Key": key}, timeout=30)
    assert response.status_code == 200, response.text
    numbers = [item["number"] for item in response.json()["invoices"]]
    assert numbers and all(re.fullmatch(r"WX-\d{4}-\d{6}", n) for n in numbers), numbers
    assert not any(n.endswith(f"{account.pk:07d}") for n in numbers)
