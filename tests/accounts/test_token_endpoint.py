"""POST /o/token/ against hostile clients (issue 19, items 6, 12 and 13; accounts/oauth.py):
limits per client address and per client id, a cap on tokens minted per client, the same
work for unknown and known client ids, and no token for a suspended account.

The limits are checked through gunicorn with the production settings (``TRUSTED_PROXY_COUNT=1``,
Redis shared by both workers), each client address the ALB's right-most
``X-Forwarded-For`` entry.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator

import pytest
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from oauth2_provider.models import get_access_token_model

from accounts.oauth import token_limits
from accounts.services import account_suspend, oauth_client_create
from tests.factories import AccountFactory
from tests.support.production import HTTPS, production_server

GRANT = {"grant_type": "client_credentials"}


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def _from(address: str, spoofed: str = "10.9.8.7") -> dict[str, str]:
    # What the ALB forwards: the client's own X-Forwarded-For, then the address it saw.
    return {**HTTPS, "X-Forwarded-For": f"{spoofed}, {address}"}


def _address() -> str:
    return f"198.51.100.{secrets.randbelow(250) + 1}"


def _live_client(name: str = "app") -> tuple[str, str]:
    client, secret = oauth_client_create(account=AccountFactory(), mode="live", name=name)
    return client.application.client_id, secret


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    token_limits.clear()
    yield
    token_limits.clear()


def _assert_slow_down(response: requests.Response, *, window: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "error_description"} and body["error"] == "slow_down"
    assert 1 <= int(response.headers["Retry-After"]) <= window
    assert response.headers["Cache-Control"] == "no-store"


# --- Item 6: the same work for every client id (in process: counted, never timed) -------


@pytest.mark.django_db
def test_unknown_and_known_client_ids_cost_one_secret_check_each(client, monkeypatch):
    checks: list[str] = []
    original = PBKDF2PasswordHasher.verify

    def counting(self, password, encoded):  # type: ignore[no-untyped-def]
        checks.append(password)
        return original(self, password, encoded)

    monkeypatch.setattr(PBKDF2PasswordHasher, "verify", counting)
    client_id, _secret = _live_client()
    attempts = {
        "known id, wrong secret (Basic)": {"HTTP_AUTHORIZATION": _basic(client_id, "wrong")["Authorization"]},
        "unknown id (Basic)": {"HTTP_AUTHORIZATION": _basic("no-such-client", "wrong")["Authorization"]},
        "unknown id (form)": {"data": {**GRANT, "client_id": "no-such-client", "client_secret": "wrong"}},
        "undecodable Basic": {"HTTP_AUTHORIZATION": "Basic %%%"},
        "no credentials": {},
    }
    for what, kwargs in attempts.items():
        checks.clear()
        data = kwargs.pop("data", GRANT)
        response = client.post("/o/token/", data, **kwargs)
        assert response.status_code == 401 and response.json()["error"] == "invalid_client", what
        assert len(checks) == 1, (what, len(checks))


# --- Item 6: the limits, through gunicorn with the production settings --------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_token_requests_are_limited_per_client_address(tmp_path):
    victim, attacker = _address(), _address()
    while attacker == victim:
        attacker = _address()
    with production_server(tmp_path, {"OAUTH_TOKEN_ATTEMPTS_PER_ADDRESS": "3"}) as server:
        url = f"{server.url}/o/token/"
        for i in range(3):  # a different spoofed entry each time: still one client address
            r = requests.post(url, data=GRANT, headers={**_from(attacker, spoofed=f"10.0.0.{i}"),
                                                        **_basic(f"guess-{i}", "x")}, timeout=30)
            assert r.status_code == 401 and r.json()["error"] == "invalid_client"
        _assert_slow_down(requests.post(url, data=GRANT, headers={**_from(attacker), **_basic("guess-9", "x")},
                                        timeout=30), window=60)
        other = requests.post(url, data=GRANT, headers={**_from(victim), **_basic("guess-0", "x")}, timeout=30)
        assert other.status_code == 401


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_failed_authentications_are_limited_per_client_id(tmp_path):
    client_id, secret = _live_client("target")
    other_id, other_secret = _live_client("bystander")
    with production_server(tmp_path, {"OAUTH_TOKEN_FAILURES_PER_CLIENT": "2"}) as server:
        url = f"{server.url}/o/token/"
        for _ in range(2):  # from different addresses: the per-address limit is not what stops it
            r = requests.post(url, data=GRANT, headers={**_from(_address()), **_basic(client_id, "wrong")}, timeout=30)
            assert r.status_code == 401
        _assert_slow_down(requests.post(url, data=GRANT, headers={**_from(_address()), **_basic(client_id, secret)},
                                        timeout=30), window=60)
        # The same id in the form body is the same client id.
        form = requests.post(url, data={**GRANT, "client_id": client_id, "client_secret": secret},
                             headers=_from(_address()), timeout=30)
        assert form.status_code == 429
        ok = requests.post(url, data=GRANT, headers={**_from(_address()), **_basic(other_id, other_secret)}, timeout=30)
        assert ok.status_code == 200, ok.text


# --- Item 12: tokens minted per client ------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_tokens_minted_are_capped_per_client(tmp_path):
    client_id, secret = _live_client("busy")
    other_id, other_secret = _live_client("calm")
    with production_server(tmp_path, {"OAUTH_TOKEN_MINTS_PER_CLIENT": "2"}) as server:
        url = f"{server.url}/o/token/"
        for _ in range(2):
            r = requests.post(url, data=GRANT, headers={**_from(_address()), **_basic(client_id, secret)}, timeout=30)
            assert r.status_code == 200, r.text
        _assert_slow_down(requests.post(url, data=GRANT, headers={**_from(_address()), **_basic(client_id, secret)},
                                        timeout=30), window=3600)
        ok = requests.post(url, data=GRANT, headers={**_from(_address()), **_basic(other_id, other_secret)}, timeout=30)
        assert ok.status_code == 200, ok.text
    model = get_access_token_model()
    assert model.objects.filter(application__client_id=client_id).count() == 2


# --- Item 13: a suspended account mints nothing ---------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_suspended_account_gets_no_token(tmp_path):
    client, secret = oauth_client_create(account=AccountFactory(), mode="live", name="suspended")
    client_id = client.application.client_id
    account_suspend(account=client.account, actor=None, reason="abuse")
    with production_server(tmp_path) as server:
        r = requests.post(f"{server.url}/o/token/", data=GRANT, headers={**_from(_address()), **_basic(client_id, secret)},
                          timeout=30)
        assert r.status_code == 400, r.text
        body = r.json()
        assert body["error"] == "unauthorized_client" and "suspended" in body["error_description"]
        assert "access_token" not in body
        # Without the secret it says nothing about the account.
        wrong = requests.post(f"{server.url}/o/token/", data=GRANT,
                              headers={**_from(_address()), **_basic(client_id, "wrong")}, timeout=30)
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert not get_access_token_model().objects.filter(application__client_id=client_id).exists()


def test_limits_hold_per_process_without_redis(settings):
    # REDIS_URL unset (or Redis backing off): this process's own bounded counters.
    settings.REDIS_URL = None
    assert token_limits.hit("addr:test", limit=2, window=60) is None
    assert token_limits.check("addr:test", limit=2, window=60) is None
    assert token_limits.hit("addr:test", limit=2, window=60) is None
    assert token_limits.check("addr:test", limit=2, window=60) is not None
    retry = token_limits.hit("addr:test", limit=2, window=60)
    assert retry is not None and 1 <= retry <= 60
