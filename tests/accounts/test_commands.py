"""create_oauth_client and create_api_key management commands."""

from __future__ import annotations

import base64
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Account, OAuthClient

pytestmark = pytest.mark.django_db


def test_create_oauth_client_prints_working_credentials(client):
    out = StringIO()
    call_command("create_oauth_client", "--email", "cli@example.com", "--test", stdout=out)
    lines = dict(line.split("=", 1) for line in out.getvalue().strip().splitlines())
    assert set(lines) == {"client_id", "client_secret"}
    oauth_client = OAuthClient.objects.get(application__client_id=lines["client_id"])
    assert oauth_client.mode == "test" and oauth_client.account.owner.email == "cli@example.com"
    assert oauth_client.application.client_secret != lines["client_secret"]  # stored hashed
    auth = base64.b64encode(f"{lines['client_id']}:{lines['client_secret']}".encode()).decode()
    response = client.post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {auth}")
    assert response.status_code == 200 and response.json()["access_token"]


def test_create_oauth_client_reuses_existing_account():
    call_command("create_oauth_client", "--email", "same@example.com", stdout=StringIO())
    call_command("create_oauth_client", "--email", "SAME@example.com", stdout=StringIO())
    assert Account.objects.filter(owner__email="same@example.com").count() == 1
    assert OAuthClient.objects.filter(account__owner__email="same@example.com").count() == 2


def test_create_api_key_prints_key_on_last_line():
    out = StringIO()
    call_command("create_api_key", "--email", "k@example.com", "--test", stdout=out, stderr=StringIO())
    assert out.getvalue().strip().splitlines()[-1].startswith("wx_test_")
