"""/v1/webhook-endpoints: create (201 with the signing secret), list, delete (204; another
account's is 404), validation and scopes. Names resolve through the fake DNS only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from tests.factories import AccountFactory, api_key_for, oauth_client_for
from webhooks.models import WebhookEndpoint, WebhookSecret

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/weather"
BOTH = ["usage.threshold", "job.completed"]


@pytest.fixture(autouse=True)
def hooks_dns(fake_dns):
    fake_dns.add("hooks.example.com", "93.184.216.34")
    fake_dns.add("metadata.example.com", "169.254.169.254")
    return fake_dns


def _create(client, **body):  # type: ignore[no-untyped-def]
    return client.post("/v1/webhook-endpoints", {"url": URL, "events": BOTH, **body}, format="json")


def test_create_answers_201_with_the_endpoint_and_the_secret(account, live_client):
    response = _create(live_client)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "url", "events", "created_at", "secret"}
    endpoint = WebhookEndpoint.objects.get(account=account)
    assert body["id"] == endpoint.public_id and body["id"].startswith("we_")
    assert body["url"] == URL and body["events"] == BOTH
    assert body["secret"] == WebhookSecret.objects.get(account=account).secret and body["secret"].startswith("whsec_")
    assert response["RateLimit-Policy"] and response["X-Request-ID"]


def test_list_and_delete(account, live_client):
    first = _create(live_client).json()
    second = _create(live_client, url="https://hooks.example.com/other", events=["job.completed"]).json()
    listed = live_client.get("/v1/webhook-endpoints")
    assert listed.status_code == 200
    assert listed.json() == {"endpoints": [
        {k: first[k] for k in ("id", "url", "events", "created_at")},
        {k: second[k] for k in ("id", "url", "events", "created_at")},
    ]}
    assert "whsec_" not in listed.content.decode()
    deleted = live_client.delete(f"/v1/webhook-endpoints/{first['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert [e["id"] for e in live_client.get("/v1/webhook-endpoints").json()["endpoints"]] == [second["id"]]
    again = live_client.delete(f"/v1/webhook-endpoints/{first['id']}")
    assert again.status_code == 404 and again.json()["code"] == "not_found"


def test_another_accounts_endpoint_is_404_and_not_listed(account, live_client, api_client):
    theirs = AccountFactory()
    api_client.credentials(HTTP_X_API_KEY=api_key_for(theirs, mode="live"))
    their_id = _create(api_client).json()["id"]
    api_client.credentials(HTTP_X_API_KEY=api_key_for(account, mode="live"))
    assert api_client.get("/v1/webhook-endpoints").json() == {"endpoints": []}
    response = api_client.delete(f"/v1/webhook-endpoints/{their_id}")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
    assert WebhookEndpoint.objects.filter(public_id=their_id).exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "http://hooks.example.com/weather"}, "url"),
    ({"url": "https://169.254.169.254/latest/meta-data/"}, "url"),
    ({"url": "https://metadata.example.com/hook"}, "url"),
    ({"url": "https://[fd00:ec2::254]/hook"}, "url"),
    ({"url": "https://unknown.example.com/hook"}, "url"),
    ({"url": "https://user:pw@hooks.example.com/"}, "url"),
    ({"url": "https://hooks.example.com/" + "a" * 2048}, "url"),
    ({"url": 42}, "url"),
    ({"events": []}, "events"),
    ({"events": ["job.started"]}, "events.0"),
    ({"events": "job.completed"}, "events"),
])
def test_invalid_bodies_are_400_naming_the_field(live_client, network_guard, body, field):
    response = _create(live_client, **body)
    assert response.status_code == 400, response.content
    problem = response.json()
    assert problem["code"] == "invalid_parameter" and list(problem["errors"]) == [field]
    assert not WebhookEndpoint.objects.exists()
    assert network_guard.connects == []


def test_an_invalid_body_is_refused_before_any_lookup(live_client, hooks_dns):
    assert _create(live_client, url="https://hooks.example.com/x", events=[]).status_code == 400
    assert hooks_dns.lookups == []


def test_too_many_endpoints_is_403(live_client, settings):
    settings.MAX_WEBHOOK_ENDPOINTS_PER_ACCOUNT = 1
    assert _create(live_client).status_code == 201
    response = _create(live_client)
    assert response.status_code == 403 and "at most 1 webhook endpoints" in response.json()["detail"]


def test_needs_a_credential(api_client):
    assert api_client.get("/v1/webhook-endpoints").status_code == 401
    assert _create(api_client).status_code == 401


def test_oauth_tokens_need_weather_read(account, api_client):
    client, _ = oauth_client_for(account)

    def token(scope: str) -> str:
        return get_access_token_model().objects.create(
            application=client.application, token=f"tok-{scope}", scope=scope,
            expires=timezone.now() + timedelta(hours=1),
        ).token

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token('account:read')}")
    assert api_client.get("/v1/webhook-endpoints").status_code == 403
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token('weather:read')}")
    assert api_client.get("/v1/webhook-endpoints").status_code == 200
    assert _create(api_client).status_code == 201
