"""Usage alerts: an email at 80 % and at 100 % of the included requests, once each per
period, however many checks run and however they interleave; checked by the usage worker."""

from __future__ import annotations

import json
import smtplib
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from billing.models import Subscription, UsageAlert, UsageDaily
from billing.pricing import month_start, previous_month
from billing.services import alerts as alerts_module
from billing.services import spend_cap_set
from billing.services.alerts import usage_alerts_check
from billing.services.usage import UsageRecord, usage_event_record
from billing.services.usage_worker import UsageWorker
from tests.billing.conftest import make_plan, subscribe
from tests.factories import AccountFactory
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import webhook_endpoint_create

pytestmark = pytest.mark.django_db


def _use(account, n: int, *, day: date | None = None, mode: str = "live", key_id: int = 1) -> None:
    """Add ``n`` billable requests to the account's rollup of ``day`` (default today)."""
    day = day or timezone.now().date()
    row, _ = UsageDaily.objects.get_or_create(day=day, account=account, credential_type="api_key",
                                              credential_id=key_id, endpoint="weather.current", mode=mode)
    UsageDaily.objects.filter(pk=row.pk).update(requests=row.requests + n,
                                                billable=row.billable + (n if mode == "live" else 0))


def _subjects(to: str) -> list[str]:
    return [m.subject for m in mail.outbox if m.to == [to]]


@pytest.fixture
def hundred(account):
    """The account on a plan of 100 included requests, then overage."""
    subscribe(account, make_plan("hundred", included=100, overage=Decimal("1.0000"), fee=Decimal("5.00")))
    return account


def test_80_then_100_percent_send_one_email_each(hundred, mailoutbox, settings):
    settings.PUBLIC_BASE_URL = "https://weather.example"
    owner = hundred.owner.email
    _use(hundred, 79)
    assert usage_alerts_check(account_ids=[hundred.pk]) == []
    _use(hundred, 1)
    (alert,) = usage_alerts_check(account_ids=[hundred.pk])
    assert (alert.threshold, alert.used_requests, alert.included_requests) == (80, 80, 100)
    assert alert.period_start == month_start(timezone.now().date())
    assert usage_alerts_check(account_ids=[hundred.pk]) == []  # checked again: nothing new
    _use(hundred, 15)
    assert usage_alerts_check(account_ids=[hundred.pk, hundred.pk]) == []  # 95 %
    _use(hundred, 5)
    (alert,) = usage_alerts_check(account_ids=[hundred.pk])
    assert (alert.threshold, alert.used_requests) == (100, 100)
    _use(hundred, 50)
    assert usage_alerts_check(account_ids=[hundred.pk]) == []
    month = timezone.now().date().strftime("%B %Y")
    assert _subjects(owner) == [
        f"[Weather API] You have used 80 % of your included requests for {month}",
        f"[Weather API] You have used 100 % of your included requests for {month}",
    ]
    body = mailoutbox[1].body
    assert "100 % of the 100 included in its Hundred plan" in body
    assert "billed at 1.0000 USD per 1,000" in body
    assert "https://weather.example/portal/usage/" in body and "https://weather.example/portal/billing/" in body
    assert UsageAlert.objects.filter(account=hundred).count() == 2


def test_passing_both_at_once_sends_both(hundred, mailoutbox):
    _use(hundred, 250)
    created = usage_alerts_check(account_ids=[hundred.pk])
    assert sorted(a.threshold for a in created) == [80, 100]
    assert len(mailoutbox) == 2 and usage_alerts_check(account_ids=[hundred.pk]) == []


def test_a_new_period_alerts_again(hundred, mailoutbox):
    last_month = previous_month(timezone.now().date())
    # On the plan since before last month (a past month is checked against its plan then).
    Subscription.objects.filter(account=hundred).update(
        started_at=datetime.combine(previous_month(last_month), datetime.min.time(), tzinfo=UTC))
    _use(hundred, 100, day=last_month + timedelta(days=3))
    assert {a.threshold for a in usage_alerts_check(account_ids=[hundred.pk], period=last_month)} == {80, 100}
    assert usage_alerts_check(account_ids=[hundred.pk]) == []  # this month: nothing used yet
    _use(hundred, 85)
    (alert,) = usage_alerts_check(account_ids=[hundred.pk])
    assert alert.threshold == 80 and alert.period_start == month_start(timezone.now().date())
    assert len(mailoutbox) == 3
    assert last_month.strftime("%B %Y") in mailoutbox[0].subject


def test_only_what_the_account_used_counts(hundred, mailoutbox):
    _use(hundred, 79)
    _use(hundred, 500, mode="test")  # never billable
    _use(AccountFactory(), 500)  # someone else's
    assert usage_alerts_check(account_ids=[hundred.pk]) == []
    _use(hundred, 1, key_id=2)  # any credential of the account
    assert [a.threshold for a in usage_alerts_check(account_ids=[hundred.pk])] == [80]
    assert [m.to for m in mailoutbox] == [[hundred.owner.email]]


def test_accounts_are_checked_together_each_against_its_own_plan(mailoutbox):
    small, large, free_plan, none = (AccountFactory() for _ in range(4))
    subscribe(small, make_plan("ten", included=10))
    subscribe(large, make_plan("thousand", included=1000, overage=Decimal("1.0000")))
    subscribe(none, make_plan("nothing-included", included=0, overage=Decimal("1.0000")))
    for account in (small, large, free_plan, none):
        _use(account, 10)
    created = usage_alerts_check(account_ids=[small.pk, large.pk, free_plan.pk, none.pk])
    # ten: 100 %; thousand: 1 %; the default free plan (1,000,000): 0 %; nothing included: nothing to pass.
    assert sorted((a.account_id, a.threshold) for a in created) == [(small.pk, 80), (small.pk, 100)]
    assert "refused with quota_exceeded until the month ends" in mailoutbox[1].body


def test_the_email_names_the_spend_cap(hundred, mailoutbox):
    spend_cap_set(account=hundred, spend_cap=Decimal("6.00"))  # 5.00 fee + 1,000 requests at 1.00
    _use(hundred, 80)
    usage_alerts_check(account_ids=[hundred.pk])
    assert "until your spend cap of 6.00 USD a month is reached (after 1,100 billable requests)" in mailoutbox[0].body


def test_a_failed_email_is_sent_at_the_next_check(hundred, mailoutbox, monkeypatch):
    _use(hundred, 90)
    real = alerts_module.send_mail

    def down(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("mail server gone")

    monkeypatch.setattr(alerts_module, "send_mail", down)
    assert usage_alerts_check(account_ids=[hundred.pk]) == []
    assert not UsageAlert.objects.filter(account=hundred).exists()  # rolled back with it
    monkeypatch.setattr(alerts_module, "send_mail", real)
    assert [a.threshold for a in usage_alerts_check(account_ids=[hundred.pk])] == [80]
    assert len(mailoutbox) == 1


# --- concurrency: exactly one email per threshold -------------------------------------------


def _run(results: dict, name: str, **kwargs) -> threading.Thread:
    def target() -> None:
        try:
            results[name] = usage_alerts_check(**kwargs)
        finally:
            connection.close()

    thread = threading.Thread(target=target, name=name)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_concurrent_checks_send_each_email_once(mailoutbox):
    account = AccountFactory()
    subscribe(account, make_plan("hundred", included=100, overage=Decimal("1.0000")))
    _use(account, 120)
    results: dict[str, list[UsageAlert]] = {}
    start = threading.Barrier(8)

    def check(name: str) -> None:
        start.wait(timeout=30)
        results[name] = usage_alerts_check(account_ids=[account.pk])
        connection.close()

    threads = [threading.Thread(target=check, args=(f"t{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 8
    assert sorted(a.threshold for alerts in results.values() for a in alerts) == [80, 100]
    assert sorted(m.subject.split(" used ")[1][:5] for m in mailoutbox) == ["100 %", "80 % "]
    assert UsageAlert.objects.filter(account=account).count() == 2


def _lock_waiters() -> int:
    with connection.cursor() as cursor:
        # Called inside check A's transaction: drop the activity snapshot it would keep.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_a_check_that_meets_an_alert_being_sent_waits_and_sends_nothing(mailoutbox, monkeypatch):
    """The interleaving a race can only hit by luck, made to happen: check A has inserted
    the 80 % alert and is sending its email, uncommitted, when check B looks. B's insert
    waits for A's transaction, then finds A's row: one email."""
    if connection.vendor != "postgresql":
        pytest.skip("watches PostgreSQL's lock waits (pg_stat_activity)")
    account = AccountFactory()
    subscribe(account, make_plan("hundred", included=100, overage=Decimal("1.0000")))
    _use(account, 85)
    real = alerts_module.send_mail
    sending = threading.Event()

    def send_once_b_waits(*args, **kwargs):
        sending.set()
        deadline = time.monotonic() + 30
        while _lock_waiters() == 0:  # B's insert, blocked on A's uncommitted row
            assert time.monotonic() < deadline, "check B never waited for check A's row"
            time.sleep(0.01)
        return real(*args, **kwargs)

    monkeypatch.setattr(alerts_module, "send_mail", send_once_b_waits)
    results: dict[str, list[UsageAlert]] = {}
    a = _run(results, "a", account_ids=[account.pk])
    assert sending.wait(timeout=30)
    b = _run(results, "b", account_ids=[account.pk])
    a.join(timeout=60)
    b.join(timeout=60)
    assert [x.threshold for x in results["a"]] == [80] and results["b"] == []
    assert len(mailoutbox) == 1


# --- the usage worker -----------------------------------------------------------------------


def _event(account, *, status: int = 200, mode: str = "live", when: datetime | None = None) -> UsageRecord:
    billable = status == 200 and mode == "live"
    return UsageRecord(id=uuid.uuid4(), account_id=account.pk, credential_type="api_key", credential_id=1,
                       endpoint="weather.current", mode=mode, status=status, billable=billable, cache="hit",
                       latency_ms=3, occurred_at=when or datetime.now(tz=UTC))


def _stream(*records: UsageRecord) -> None:
    for r in records:
        assert usage_event_record(record=r) == "stream"


def test_the_worker_checks_the_accounts_of_each_stored_batch(redis, mailoutbox):
    quiet, busy = AccountFactory(), AccountFactory()
    for account in (quiet, busy):
        subscribe(account, make_plan("ten", included=10, overage=Decimal("1.0000")))
    worker = UsageWorker(client=redis, consumer="alerts-a")
    _stream(*[_event(busy) for _ in range(8)], _event(quiet))
    worker.run_once()
    assert [(m.to, m.subject.split(" used ")[1][:4]) for m in mailoutbox] == [([busy.owner.email], "80 %")]
    _stream(*[_event(busy) for _ in range(2)])
    worker.run_once()
    assert len(mailoutbox) == 2 and "100 %" in mailoutbox[1].subject
    worker.run_once()  # nothing new, nothing sent
    assert len(mailoutbox) == 2


def test_the_worker_checks_only_accounts_whose_usage_could_make_an_alert_due(redis, monkeypatch):
    live, tester, erring, refused = (AccountFactory() for _ in range(4))
    checked: list[tuple[date, list[int]]] = []
    monkeypatch.setattr("billing.services.usage_worker.usage_alerts_check",
                        lambda *, account_ids, period: checked.append((period, sorted(account_ids))) or [])
    last_month = datetime.combine(previous_month(timezone.now().date()), datetime.min.time(), tzinfo=UTC)
    _stream(_event(live), _event(live, when=last_month + timedelta(hours=5)), _event(tester, mode="test"),
            _event(erring, status=500), _event(refused, status=429))
    UsageWorker(client=redis, consumer="alerts-b").run_once()
    this_month = month_start(timezone.now().date())
    assert checked == [(last_month.date(), [live.pk]), (this_month, sorted([live.pk, refused.pk]))]


def test_a_failing_check_never_holds_up_the_stream(redis, account, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr("billing.services.usage_worker.usage_alerts_check", broken)
    _stream(_event(account), _event(account))
    assert UsageWorker(client=redis, consumer="alerts-c").run_once() == 2
    assert redis.xlen("{wx}:usage:events") == 0
    assert "usage alerts of 1 accounts not checked" in caplog.text


def test_the_alerts_go_as_usage_threshold_webhooks_to_subscribed_endpoints(hundred, mailoutbox, fake_dns,
                                                                          network_guard):
    fake_dns.add("hooks.example.com", "93.184.215.14")
    alerts = webhook_endpoint_create(account_id=hundred.pk, url="https://hooks.example.com/usage",
                                     events=["usage.threshold"])
    webhook_endpoint_create(account_id=hundred.pk, url="https://hooks.example.com/jobs", events=["job.completed"])
    _use(hundred, 85)
    assert [a.threshold for a in usage_alerts_check(account_ids=[hundred.pk])] == [80]
    assert usage_alerts_check(account_ids=[hundred.pk]) == []  # once per threshold and period
    (delivery,) = WebhookDelivery.objects.filter(account=hundred)
    assert delivery.url == alerts.url and delivery.event_type == "usage.threshold"
    payload = json.loads(delivery.payload)
    assert payload["type"] == "usage.threshold"
    assert payload["data"] == {"threshold": 80, "period_start": month_start(timezone.now().date()).isoformat(),
                               "included_requests": 100, "used_requests": 85}
    assert WebhookEndpoint.objects.filter(account=hundred).count() == 2
    assert not delivery.attempts.exists()  # queued for the worker, not sent here
