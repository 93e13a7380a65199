"""Static files, the favicon and the docs pages' headers as production serves them.

gunicorn with the production settings over a collected STATIC_ROOT (tests/support/static.py),
requests as the ALB forwards them: hashed assets cached for a year and sent compressed when
the client accepts it, /favicon.ico answered, and the API reference pages under a
Content-Security-Policy whose scripts come from the site only.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import brotli
import pytest
import requests

from tests.support.production import HTTPS, production_server
from tests.support.servers import GunicornServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
YEAR = 365 * 24 * 3600
PORTAL_CSS = re.compile(r'href="(/static/css/portal\.[0-9a-f]{12}\.css)"')


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[GunicornServer]:
    with django_db_blocker.unblock(), production_server(tmp_path_factory.mktemp("gunicorn")) as server:
        yield server


def get(server: GunicornServer, path: str, **headers: str) -> requests.Response:
    """The answer with its body as sent (not decompressed)."""
    response = requests.get(server.url + path, headers={**HTTPS, **headers}, timeout=30, stream=True)
    response.raw.decode_content = False
    response._content = response.raw.read()
    return response


def css_url(server: GunicornServer) -> str:
    page = get(server, "/accounts/login/")
    assert page.status_code == 200
    return PORTAL_CSS.search(page.content.decode()).group(1)


def cache_directives(response: requests.Response) -> set[str]:
    return {d.strip() for d in response.headers.get("Cache-Control", "").split(",")}


def test_pages_link_hashed_assets_cached_for_a_year(server):
    css = get(server, css_url(server), **{"Accept-Encoding": "identity"})
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert css.content == (ROOT / "static" / "css" / "portal.css").read_bytes()
    directives = cache_directives(css)
    assert "immutable" in directives and "public" in directives
    assert int(next(d for d in directives if d.startswith("max-age=")).split("=")[1]) >= YEAR
    assert "Accept-Encoding" in css.headers["Vary"]


@pytest.mark.parametrize(("encoding", "decode"), [("br", brotli.decompress), ("gzip", gzip.decompress)])
def test_assets_are_sent_compressed_when_the_client_accepts_it(server, encoding, decode):
    source = (ROOT / "static" / "css" / "portal.css").read_bytes()
    css = get(server, css_url(server), **{"Accept-Encoding": f"{encoding}"})
    assert css.headers["Content-Encoding"] == encoding
    assert decode(css.content) == source
    assert "immutable" in cache_directives(css)

    swagger = re.search(r'src="(/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle\.[0-9a-f]{12}\.js)"',
                        get(server, "/api/docs/").content.decode()).group(1)
    bundle = get(server, swagger, **{"Accept-Encoding": f"{encoding}"})
    assert bundle.status_code == 200 and bundle.headers["Content-Encoding"] == encoding
    assert int(bundle.headers["Content-Length"]) < len(decode(bundle.content)) / 2


def test_unhashed_names_are_served_but_only_briefly_cached(server):
    css = get(server, "/static/css/portal.css")
    assert css.status_code == 200
    assert "immutable" not in cache_directives(css)


def test_a_missing_static_file_is_a_404(server):
    assert get(server, "/static/css/nothing-here.css").status_code == 404


def test_favicon_is_served_at_the_root(server):
    icon = get(server, "/favicon.ico", **{"Accept-Encoding": "identity"})
    assert icon.status_code == 200
    assert icon.headers["Content-Type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    assert icon.content == (ROOT / "public" / "favicon.ico").read_bytes()


def _csp(response: requests.Response) -> dict[str, list[str]]:
    directives = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_run_under_a_csp_with_scripts_from_the_site_only(server, path):
    page = get(server, path)
    assert page.status_code == 200
    csp = _csp(page)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert _INLINE_SCRIPT.findall(page.content.decode()) == []


def test_redoc_may_start_its_search_worker_from_a_blob(server):
    assert _csp(get(server, "/api/redoc/"))["worker-src"] == ["'self'", "blob:"]


def test_swagger_ui_start_up_script_is_served_by_the_docs_view(server):
    page = get(server, "/api/docs/").content.decode()
    src = re.search(r'<script src="(/api/docs/\?[^"]*script[^"]*)"', page).group(1)
    script = get(server, src.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in script.content
