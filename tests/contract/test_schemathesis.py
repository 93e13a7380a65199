"""Contract fuzzing: schemathesis against gunicorn serving the app, every /v1/ operation.

The server runs on the pytest-django test database (transactional, so it sees our rows) and
the fake OpenWeather; the key is a live key on a plan with a high burst limit, so the
throttle does not answer most requests. Any failure of any default check fails the test;
the output names the failing request (with a curl line to reproduce it).
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings as django_settings
from django.db import connection

from accounts.services import api_key_create
from billing.services import plan_upsert, subscription_change
from tests.contract.runner import run_st, st_command
from tests.factories import AccountFactory
from tests.support.servers import GunicornServer, current_database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live_server_key(upstream):
    from decimal import Decimal

    plan, _ = plan_upsert(code="fuzz", name="Fuzz", requests_per_minute=100_000, included_requests=100_000_000,
                          overage_per_1000=Decimal("0.01"), monthly_fee=Decimal("0"))
    account = AccountFactory()
    subscription_change(account=account, plan=plan)
    _, key = api_key_create(account=account, mode="live", name="schemathesis")
    return key


@pytest.fixture
def server(upstream, tmp_path):
    env = {
        "DATABASE_URL": current_database_url(),
        "OPENWEATHER_BASE_URL": upstream.url,
        "OPENWEATHER_API_KEY": upstream.api_key,
        "DJANGO_DEBUG": "1",
        "CACHE_KEY_PREFIX": f"contract{os.getpid()}",
        # Webhook endpoint URLs are loopback ones (hooks.py): no name is looked up.
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
    }
    if django_settings.REDIS_URL:
        env["REDIS_URL"] = django_settings.REDIS_URL
    else:
        env.pop("REDIS_URL", None)
    with GunicornServer(env, workers=2, threads=8, log_path=tmp_path / "gunicorn.log") as server:
        yield server


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_schemathesis_finds_no_failure(server, live_server_key, tmp_path, mode):
    command = st_command(base_url=server.url, api_key=live_server_key, mode=mode, report_dir=tmp_path / "report",
                         postgresql=connection.vendor == "postgresql")
    result = run_st(command)
    output = result.stdout + result.stderr
    print(output)  # the summary: operations, generated cases, checks
    assert result.returncode == 0, f"schemathesis found failures ({' '.join(command[:2])} ... --mode {mode}):\n{output[-20000:]}"
