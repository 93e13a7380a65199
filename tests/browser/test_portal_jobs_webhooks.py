"""The portal's jobs, webhooks and spend cap in a real browser, against production gunicorn
behind the TLS proxy: a finished job with its callback, the delivery's attempts and the
Redeliver button, the signing secret and its rotation, the spend cap form."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection

from accounts.credentials import Principal
from accounts.services import api_key_create
from billing.models import BillingSettings
from jobs.services import job_create, job_run
from tests.accounts.conftest import verify
from tests.billing.conftest import make_plan, subscribe
from tests.browser.test_portal_secrets import _log_in
from tests.factories import AccountFactory
from webhooks.models import WebhookDelivery, WebhookSecret
from webhooks.services import webhook_delivery_attempt

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_jobs_callbacks_secret_and_spend_cap_in_the_portal(page, site, shot, fake_dns, network_guard):
    if connection.vendor != "postgresql":
        pytest.skip("jobs need the task queue, which runs on PostgreSQL (DATABASE_URL)")
    account = AccountFactory()
    verify(account.owner)
    subscribe(account, make_plan("browser", included=1000, overage=Decimal("1.0000"), fee=Decimal("10.00")))
    key, _ = api_key_create(account=account, mode="test", name="browser")
    principal = Principal(account_id=account.pk, credential_type="api_key", credential_id=key.pk,
                          credential_prefix=key.prefix, mode="test")
    # A job as the API takes it and the worker runs it; its callback's first attempt is
    # refused by the network guard: no packet leaves the machine.
    fake_dns.add("hooks.example.com", "93.184.215.14")
    job = job_create(principal=principal, callback_url="https://hooks.example.com/cb", request_id="browser",
                     items=[{"id": "oslo", "endpoint": "weather/current", "params": {"q": "Oslo,NO"}},
                            {"id": "bad", "endpoint": "weather/current", "params": {"lat": 95, "lon": 0}}])
    job_run(job_id=job.id)
    delivery = WebhookDelivery.objects.get(account=account, reference=job.public_id)
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "retry"
    assert network_guard.refused == [("93.184.215.14", 443)]
    network_guard.refused.clear()  # refused as it should be: not a leak

    _log_in(page, account.owner.email)
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Jobs").click()
    row = page.locator("table[data-table=jobs] tbody tr").first
    assert job.public_id in row.inner_text()
    assert re.search(r"succeeded\s+2 of 2\s+1", row.inner_text())
    shot(page, "portal-jobs")

    nav.get_by_role("link", name="Webhooks").click()
    page.locator("[data-testid=signing-secret] summary").click()
    secret = page.locator("#webhook-secret").input_value()
    assert secret.startswith("whsec_") and secret == WebhookSecret.objects.get(account=account).secret
    delivery_row = page.locator(f"tr[data-msg-id='{delivery.msg_id}']")
    assert "job.completed" in delivery_row.inner_text() and "https://hooks.example.com/cb" in delivery_row.inner_text()
    assert delivery_row.locator("li[data-attempt='1']").inner_text().count("no answer") == 1
    shot(page, "portal-webhooks")
    delivery_row.get_by_role("button", name=re.compile("Redeliver")).click()
    page.get_by_role("heading", name="Webhooks").wait_for()
    delivery.refresh_from_db()
    assert delivery.series == 2 and delivery.status == "pending"

    page.get_by_role("button", name="Rotate secret").click()
    page.get_by_role("heading", name="Webhooks").wait_for()
    rotated = WebhookSecret.objects.get(account=account)
    assert rotated.secret != secret and rotated.previous_secret == secret
    page.locator("[data-testid=signing-secret] summary").click()
    assert page.locator("#webhook-secret").input_value() == rotated.secret
    assert page.locator("#webhook-previous-secret").input_value() == secret

    nav.get_by_role("link", name="Billing").click()
    page.get_by_label("Monthly spend cap").fill("25.00")
    page.get_by_role("button", name="Save spend cap").click()
    page.locator("[data-spend-cap='25.00']").wait_for()
    assert str(BillingSettings.objects.get(account=account).spend_cap) == "25.00"
    shot(page, "portal-spend-cap")
