"""The developer's journey in a real browser: sign up, verify, log in, create a live key,
call the API with it, revoke it, then create an OAuth client and use a token."""

from __future__ import annotations

import re

import pytest
import requests
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "dev@example.com"
PASSWORD = "a long and unusual passphrase 7"
CURRENT = "/v1/weather/current?lat=52.52&lon=13.40"
LINK_RE = re.compile(r"https?://[^\s]+/accounts/confirm-email/[^\s]+/")


def test_signup_verify_login_key_lifecycle_and_oauth(page, site, shot):
    base = site.url
    verify = str(site.certificate)

    page.goto("/")
    assert page.get_by_role("heading", level=1).is_visible()
    shot(page, "01-landing")
    page.get_by_role("link", name="Sign up free").click()

    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    shot(page, "02-signup")
    page.get_by_role("button", name="Sign up").click()
    page.get_by_role("heading", name="Verify your email address").wait_for()
    shot(page, "03-verification-sent")

    message = site.mails(EMAIL)[-1]
    link = LINK_RE.search(message.get_payload(decode=True).decode()).group(0)
    assert link.startswith(base + "/")  # PUBLIC_BASE_URL is this site
    page.goto(link)
    shot(page, "04-confirm-email")
    page.get_by_role("button", name="Confirm email address").click()

    page.wait_for_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    shot(page, "05-login")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/portal/$"))
    page.get_by_role("heading", name="Dashboard").wait_for()
    shot(page, "06-dashboard")

    # A live key, shown once.
    page.get_by_role("link", name="API keys").first.click()
    page.get_by_label("Name").fill("browser test")
    page.get_by_label("Live").check()
    page.get_by_role("button", name="Create key").click()
    full_key = page.locator("#revealed-secret").input_value()
    assert full_key.startswith("wx_live_")
    shot(page, "07-key-created")

    response = requests.get(f"{base}{CURRENT}", headers={"X-API-Key": full_key}, timeout=10, verify=verify)
    assert response.status_code == 200, response.text
    assert response.json()["source"]["provider"] == "openweather"

    page.goto("/portal/keys/")
    assert full_key not in page.content()
    page.get_by_role("link", name=re.compile(r"^Revoke")).first.click()
    shot(page, "08-key-revoke-confirm")
    page.get_by_role("button", name="Revoke key").click()
    page.get_by_text("is revoked").wait_for()
    shot(page, "09-keys-after-revoke")

    refused = requests.get(f"{base}{CURRENT}", headers={"X-API-Key": full_key}, timeout=10, verify=verify)
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_credentials"

    # An OAuth client, then a token from /o/token/ with a standard client library.
    page.get_by_role("link", name="OAuth apps").first.click()
    page.get_by_label("Name").fill("backend service")
    page.get_by_label("Live").check()
    page.get_by_role("button", name="Create client").click()
    client_id = page.locator("#revealed-client-id").input_value()
    client_secret = page.locator("#revealed-secret").input_value()
    shot(page, "10-oauth-client-created")

    session = OAuth2Session(client=BackendApplicationClient(client_id=client_id))
    token = session.fetch_token(
        token_url=f"{base}/o/token/", client_id=client_id, client_secret=client_secret, scope=["weather:read"],
        verify=verify,
    )
    assert token["token_type"] == "Bearer"
    weather = session.get(f"{base}{CURRENT}", timeout=10, verify=verify)
    assert weather.status_code == 200, weather.text

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/$"))
    shot(page, "11-logged-out")
