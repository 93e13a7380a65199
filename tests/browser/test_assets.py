"""Every page's assets load in production, all from the site itself (issue 20, items 1 and 2).

The portal (logged in), the admin login, Swagger UI and ReDoc in Chromium against gunicorn
with the production settings: every request the page makes is recorded; none may fail, no
stylesheet, script, image, font or icon may answer an error, none may go to another host,
nothing may break the Content-Security-Policy, and both API references show their operations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests.accounts.conftest import PASSWORD, verify
from tests.factories import AccountFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ASSET_TYPES = {"stylesheet", "script", "image", "font"}
SCHEMA = yaml.safe_load((Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml").read_text(encoding="utf-8"))
OPERATIONS = [(path, method) for path, item in SCHEMA["paths"].items() for method in item]


@dataclass
class Traffic:
    """What one page asked for and got."""

    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # asset answers >= 400
    console: list[str] = field(default_factory=list)  # console errors (CSP refusals among them)

    def record(self, page) -> None:
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url}: {r.failure}"))
        page.on("response", self._response)
        page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console.append(str(e)))

    def _response(self, response) -> None:
        request = response.request
        if response.status >= 400 and (request.resource_type in ASSET_TYPES or "favicon" in response.url):
            self.errors.append(f"{response.status} {request.resource_type} {response.url}")

    def check(self, origin: str) -> None:
        assert self.failed == []
        assert self.errors == []
        assert self.console == []
        elsewhere = [u for u in self.requests if urlsplit(u).scheme not in {"data", "blob"}
                     and f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" != origin]
        assert elsewhere == []


def visit(page, site, path: str, ready):
    """``path`` in a new tab of ``page``'s browser context (same session), its traffic recorded
    until ``ready()`` and the network are done; then the site's icon is fetched as a browser does."""
    tab = page.context.new_page()
    traffic = Traffic()
    traffic.record(tab)
    tab.goto(path)
    ready(tab)
    tab.wait_for_load_state("networkidle")
    # Browsers ask for the icon the page names, or for /favicon.ico when it names none.
    named = tab.evaluate("document.querySelector('link[rel~=icon]')?.href ?? null")
    for url in {named or f"{site.url}/favicon.ico", f"{site.url}/favicon.ico"}:
        answer = tab.request.get(url)
        assert answer.ok and answer.headers["content-type"].startswith("image/"), (url, answer.status)
    return tab, traffic


def test_portal_admin_and_api_docs_load_every_asset_from_the_site(page, site, shot):
    account = AccountFactory(owner__email="assets@example.com")
    verify(account.owner)
    origin = site.url

    tab, traffic = visit(page, site, "/accounts/login/", lambda t: t.get_by_label("Email").wait_for())
    tab.get_by_label("Email").fill("assets@example.com")
    tab.get_by_label("Password", exact=True).fill(PASSWORD)
    tab.get_by_role("button", name="Log in").click()
    tab.wait_for_url(re.compile(r"/portal/$"))
    tab.get_by_role("heading", name="Dashboard").wait_for()
    tab.wait_for_load_state("networkidle")
    # The stylesheet applied: the header has the portal's colours, not the browser's.
    assert tab.locator(".site-header").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(18, 53, 91)"
    shot(tab, "assets-01-portal")
    traffic.check(origin)

    tab, traffic = visit(page, site, "/admin/login/", lambda t: t.locator("#login-form").wait_for())
    assert tab.locator("#header").evaluate("e => getComputedStyle(e).display") == "flex"  # admin CSS applied
    shot(tab, "assets-02-admin-login")
    traffic.check(origin)

    tab, traffic = visit(page, site, "/api/docs/",
                         lambda t: t.locator(".opblock-summary-path[data-path='/v1/weather/current']").wait_for())
    assert tab.locator(".opblock").count() == len(OPERATIONS)
    shot(tab, "assets-03-swagger-ui")
    traffic.check(origin)

    tab, traffic = visit(page, site, "/api/redoc/",
                         lambda t: t.locator("[data-section-id='operation/weather_current']").wait_for())
    assert tab.locator("[data-section-id^='operation/']").count() == len(OPERATIONS)
    menu = tab.locator("[role=menu]").first.inner_text()
    assert "Caching and the source object" in menu
    assert "<code>" not in menu
    shot(tab, "assets-04-redoc")
    traffic.check(origin)
