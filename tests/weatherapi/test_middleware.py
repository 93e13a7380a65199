from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_sane_request_id_is_echoed(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123_DEF.456")
    assert response["X-Request-ID"] == "abc-123_DEF.456"


@pytest.mark.parametrize("bad", ["short", "x" * 200, "evil\r\nSet-Cookie: a=b", "has space in it", "ünïcode-ids"])
def test_insane_request_id_is_replaced(client, bad):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=bad)
    assert response["X-Request-ID"] != bad
    assert len(response["X-Request-ID"]) == 32


def test_request_id_on_errors_and_portal_pages(client):
    assert client.get("/v1/nope")["X-Request-ID"]
    assert client.get("/")["X-Request-ID"]
