"""Browser tests: Debian's Chromium driven by Playwright's sync API against what production runs.

The site is gunicorn with the production settings (``DJANGO_DEBUG=0``, static files from a
collectstatic, served by WhiteNoise) behind a proxy that terminates TLS and forwards like
the ALB (``tests/support/proxy.py``), so the browser sees https, ``Secure`` cookies and the
headers production sends. The server reads the test database: tests need
``django_db(transaction=True)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

from tests.fakes.openweather import FakeOpenWeather
from tests.support.mail import mails_to
from tests.support.production import production_server
from tests.support.proxy import AlbProxy
from tests.support.servers import free_port

# Playwright's sync API runs an event loop in this thread; Django's async-safety check
# would then refuse every ORM call the test makes (creating users, checking rows).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
# Without these Chromium reaches for the network at every start (NOTES: Browser tests).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@dataclass
class Site:
    """The site as a browser reaches it: ``url`` is the https origin of the proxy."""

    url: str
    certificate: Path  # for ``requests``' ``verify=``
    mail_dir: Path

    def mails(self, to: str) -> list[Message]:
        """Every email sent to ``to`` so far."""
        return mails_to(self.mail_dir, to)


@pytest.fixture
def site(transactional_db, fake_openweather: FakeOpenWeather, tmp_path: Path) -> Iterator[Site]:
    port = free_port()
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    with AlbProxy(f"http://127.0.0.1:{port}", tls_dir=tmp_path) as proxy:
        assert proxy.certificate is not None
        env = {
            "PUBLIC_BASE_URL": proxy.url,  # the links in emails lead to this site
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
            "OPENWEATHER_BASE_URL": fake_openweather.url,
            "OPENWEATHER_API_KEY": fake_openweather.api_key,
        }
        with production_server(tmp_path, env, port=port):
            yield Site(proxy.url, proxy.certificate, mail_dir)


# Per module, not per session: Playwright's sync API keeps an event loop running in this
# thread while it is open, and later tests that run an asyncio loop themselves (the task
# queue's worker in tests/webhooks) could not.
@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium); browser tests need it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium_browser, site: Site) -> Iterator[object]:
    # The proxy's certificate is self-signed; everything else about the connection is real.
    context = chromium_browser.new_context(base_url=site.url, viewport={"width": 1280, "height": 900},
                                           ignore_https_errors=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def shot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take
