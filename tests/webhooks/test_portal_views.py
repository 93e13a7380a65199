"""The portal's webhooks page: login required, the account's own secret, endpoints and
deliveries; rotation, adding and deleting endpoints and redelivery by POST (CSRF) then a
redirect back (Post/Redirect/Get)."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from tests.accounts.conftest import SUBMISSION_RE, verify
from tests.factories import AccountFactory
from webhooks import services
from webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
)

pytestmark = pytest.mark.django_db

PAGE = "/portal/webhooks/"
SECRET_RE = re.compile(r'id="webhook-secret"[^>]*value="([^"]+)"')


@pytest.fixture
def owner(db):
    account = AccountFactory()
    verify(account.owner)
    return account


@pytest.fixture
def portal(owner) -> Client:
    client = Client()
    client.force_login(owner.owner)
    return client


@pytest.fixture(autouse=True)
def hooks_dns(fake_dns):
    fake_dns.add("hooks.example.com", "93.184.216.34")
    fake_dns.add("internal.example.com", "10.1.2.3")


def _page(portal: Client) -> str:
    response = portal.get(PAGE)
    assert response.status_code == 200
    return response.content.decode()


def _shown_secret(portal: Client) -> str:
    return html.unescape(SECRET_RE.search(_page(portal)).group(1))


def test_login_required(client):
    for method, url in (("get", PAGE), ("post", PAGE + "secret/rotate/"), ("post", PAGE + "endpoints/create/")):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_the_page_shows_the_accounts_secret_and_is_not_cached(portal, owner):
    response = portal.get(PAGE)
    assert "no-store" in response["Cache-Control"]
    assert _shown_secret(portal) == WebhookSecret.objects.get(account=owner).secret
    assert 'href="/portal/webhooks/" aria-current="page"' in response.content.decode()  # in the nav
    other = services.webhook_secret_get_or_create(account_id=AccountFactory().pk).secret
    assert other not in response.content.decode()


def test_rotate_keeps_the_previous_secret_for_the_chosen_grace(portal, owner):
    old = _shown_secret(portal)
    token = SUBMISSION_RE.search(_page(portal)).group(1)
    response = portal.post(PAGE + "secret/rotate/", {"grace_seconds": "86400", "submission": token})
    assert response.status_code == 303 and response["Location"] == PAGE
    page = portal.get(PAGE).content.decode()
    new = html.unescape(SECRET_RE.search(page).group(1))
    assert new != old and old in page and "also signs until" in page
    secret = WebhookSecret.objects.get(account=owner)
    assert (secret.secret, secret.previous_secret) == (new, old)
    # The same form sent again does not rotate again (that would retire `old` at once).
    again = portal.post(PAGE + "secret/rotate/", {"grace_seconds": "86400", "submission": token}, follow=True)
    assert "was not rotated again" in again.content.decode()
    assert WebhookSecret.objects.get(account=owner).secret == new


def test_rotate_now_retires_the_old_secret(portal, owner):
    old = _shown_secret(portal)
    token = SUBMISSION_RE.search(_page(portal)).group(1)
    portal.post(PAGE + "secret/rotate/", {"grace_seconds": "0", "submission": token})
    page = _page(portal)
    assert old not in page and 'id="webhook-previous-secret"' not in page
    bad = portal.post(PAGE + "secret/rotate/", {"grace_seconds": "999", "submission": token})
    assert bad.status_code == 400


def test_add_and_delete_an_endpoint(portal, owner):
    response = portal.post(PAGE + "endpoints/create/", {"url": "https://hooks.example.com/wx", "events": ["job.completed"]})
    assert response.status_code == 303 and response["Location"] == PAGE
    endpoint = WebhookEndpoint.objects.get(account=owner)
    assert endpoint.events == ["job.completed"]
    page = _page(portal)
    assert endpoint.public_id in page and "https://hooks.example.com/wx" in page
    deleted = portal.post(PAGE + f"endpoints/{endpoint.public_id}/delete/")
    assert deleted.status_code == 303
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("url", ["http://hooks.example.com/", "https://internal.example.com/", "https://169.254.169.254/"])
def test_a_refused_url_is_shown_on_the_form(portal, network_guard, url):
    response = portal.post(PAGE + "endpoints/create/", {"url": url, "events": ["job.completed"]})
    assert response.status_code == 400
    assert 'class="error" role="alert"' in response.content.decode()
    assert not WebhookEndpoint.objects.exists() and network_guard.connects == []


def test_another_accounts_endpoint_and_delivery_are_404(portal, hooks_dns):
    theirs = AccountFactory()
    endpoint = services.webhook_endpoint_create(account_id=theirs.pk, url="https://hooks.example.com/", events=["job.completed"])
    (delivery,) = services.webhook_event_send(account_id=theirs.pk, event_type="job.completed", data={})
    assert portal.post(PAGE + f"endpoints/{endpoint.public_id}/delete/").status_code == 404
    assert portal.post(PAGE + f"deliveries/{delivery.msg_id}/redeliver/").status_code == 404
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert WebhookDelivery.objects.get(pk=delivery.pk).series == 1
    assert delivery.msg_id not in _page(portal)


def test_deliveries_show_their_attempts_and_can_be_redelivered(portal, owner, hooks_dns):
    (delivery,) = services.webhook_event_send(account_id=owner.pk, event_type="job.completed", data={"id": "job_1"},
                                              url="https://hooks.example.com/cb", reference="job_1")
    WebhookAttempt.objects.create(delivery=delivery, number=1, at=delivery.created_at, status_code=500, duration_ms=12)
    WebhookAttempt.objects.create(delivery=delivery, number=2, at=delivery.created_at, error="timed out after 5 s",
                                  duration_ms=5000)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    page = _page(portal)
    row = page[page.index(f'data-msg-id="{delivery.msg_id}"'):]
    row = row[:row.index("</tr>")]
    assert "job.completed" in row and "https://hooks.example.com/cb" in row and "Failed" in row
    assert 'data-attempt="1"' in row and "HTTP 500" in row
    assert 'data-attempt="2"' in row and "timed out after 5 s" in row
    response = portal.post(PAGE + f"deliveries/{delivery.msg_id}/redeliver/")
    assert response.status_code == 303 and response["Location"] == PAGE
    delivery.refresh_from_db()
    assert (delivery.series, delivery.status) == (2, DeliveryStatus.PENDING)


def test_posts_need_the_csrf_token(owner):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner.owner)
    before = services.webhook_secret_get_or_create(account_id=owner.pk).secret
    token = SUBMISSION_RE.search(strict.get(PAGE).content.decode()).group(1)
    assert strict.post(PAGE + "secret/rotate/", {"grace_seconds": "0", "submission": token}).status_code == 403
    assert strict.post(PAGE + "endpoints/create/", {"url": "https://hooks.example.com/", "events": ["job.completed"]}).status_code == 403
    assert WebhookSecret.objects.get(account=owner).secret == before and not WebhookEndpoint.objects.exists()
