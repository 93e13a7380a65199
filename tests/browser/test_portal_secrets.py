"""Show-once secrets in a real browser: creating a key or an OAuth client answers with a
redirect (Post/Redirect/Get), so reloading the page that shows the secret neither shows it
again nor creates a second credential."""

from __future__ import annotations

import re

import pytest

from accounts.models import ApiKey, OAuthClient
from tests.accounts.conftest import PASSWORD, verify
from tests.factories import AccountFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/portal/$"))


def test_reloading_after_creating_a_key_shows_it_no_more_and_creates_no_second_one(page, live_server, shot):
    account = AccountFactory()
    verify(account.owner)
    _log_in(page, account.owner.email)

    page.goto("/portal/keys/")
    page.get_by_label("Name").fill("reload test")
    page.get_by_label("Test").check()
    page.get_by_role("button", name="Create key").click()
    page.wait_for_url(re.compile(r"/portal/keys/\?shown="))
    full_key = page.locator("#revealed-secret").input_value()
    assert full_key.startswith("wx_test_")
    shot(page, "secrets-01-key-shown")

    page.reload()
    page.get_by_role("heading", name="Your keys").wait_for()
    assert page.locator("#revealed-secret").count() == 0
    assert full_key not in page.content()
    assert page.locator("tr[data-key-id]").count() == 1
    shot(page, "secrets-02-key-after-reload")
    page.go_back()  # the list as it was before the form was sent: nothing is sent again
    page.get_by_role("heading", name="Your keys").wait_for()
    assert full_key not in page.content()
    assert ApiKey.objects.filter(account=account).count() == 1

    page.goto("/portal/apps/")
    page.get_by_label("Name").fill("reload client")
    page.get_by_role("button", name="Create client").click()
    page.wait_for_url(re.compile(r"/portal/apps/\?shown="))
    secret = page.locator("#revealed-secret").input_value()
    page.reload()
    page.get_by_role("heading", name="Your clients").wait_for()
    assert page.locator("#revealed-secret").count() == 0 and secret not in page.content()
    assert OAuthClient.objects.filter(account=account).count() == 1
