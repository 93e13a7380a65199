"""Jobs end to end over real HTTP and real processes: production gunicorn takes the job,
``manage.py jobs_worker`` runs it against the fake OpenWeather and calls back a local
receiver that verifies the signature with the ``standardwebhooks`` package."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections import Counter

import pytest
import requests
from django.conf import settings

from billing.models import UsageEvent
from billing.services.usage_worker import UsageWorker
from jobs.services import item_event_id
from tests.billing.conftest import make_plan, subscribe
from tests.factories import AccountFactory, api_key_for
from tests.support.jobs import JobsWorker, Receiver, payload_of
from tests.support.production import HTTPS, production_env, production_server
from weatherapi.redis import redis_client
from webhooks.services import webhook_secret_get_or_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _places(n: int) -> list[dict]:
    """``n`` items for distinct places (far apart: no two share a cache entry)."""
    return [{"id": f"p{i}", "endpoint": "weather/current",
             "params": {"lat": -60 + (i // 50) * 5.5, "lon": -170 + (i % 50) * 6.8}} for i in range(n)]


def _env(fake_openweather, **extra: str) -> dict[str, str]:
    if not settings.REDIS_URL:
        pytest.skip("the web and worker processes share limits and usage through Redis (REDIS_URL)")
    return production_env(
        OPENWEATHER_BASE_URL=fake_openweather.url, OPENWEATHER_API_KEY=fake_openweather.api_key,
        CACHE_KEY_PREFIX=f"jobs{os.getpid()}{time.monotonic_ns()}", WEBHOOK_ALLOW_PRIVATE_TARGETS="1",
        WEBHOOK_RETRY_BASE_SECONDS="1", JOBS_WORKER_HEARTBEAT_SECONDS="1", JOBS_WORKER_STALLED_SECONDS="3",
        JOBS_WORKER_POLL_SECONDS="0.5", **extra,
    )


def _account() -> tuple[object, str, str]:
    account = AccountFactory()
    subscribe(account, make_plan("bulk", rpm=100_000, included=1_000_000))
    secret = webhook_secret_get_or_create(account_id=account.pk).secret
    return account, api_key_for(account, mode="live"), secret


def _wait_job(server, location: str, key: str, *, until, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = requests.get(server.url + location, headers={**HTTPS, "X-API-Key": key}, timeout=10).json()
        if until(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job did not get there in {timeout}s: {({k: v for k, v in job.items() if k != 'results'})}")
        time.sleep(0.2)


def _billed(account) -> set[uuid.UUID]:
    """The ids of the billable usage events, once the usage worker has stored the stream."""
    UsageWorker(client=redis_client(), consumer="jobs-test").run_once()
    return set(UsageEvent.objects.filter(account=account, billable=True).values_list("id", flat=True))


def _item_events(job_public_id: str, n: int) -> set[uuid.UUID]:
    job_id = uuid.UUID(hex=job_public_id.removeprefix("job_"))
    return {item_event_id(job_id, i) for i in range(n)}


def _submit(server, key: str, items: list[dict], callback_url: str | None = None) -> requests.Response:
    body: dict = {"requests": items}
    if callback_url:
        body["callback_url"] = callback_url
    response = requests.post(server.url + "/v1/jobs", json=body, headers={**HTTPS, "X-API-Key": key}, timeout=30)
    assert response.status_code == 202, response.text
    return response


def test_a_job_of_200_items_calls_back_signed_and_is_retried_after_a_500(tmp_path, fake_openweather):
    account, key, secret = _account()
    env = _env(fake_openweather)
    with Receiver(answers=lambda n: 500 if n == 0 else 200, secret=secret) as receiver, \
            production_server(tmp_path, env) as server, JobsWorker(env, log_path=tmp_path / "worker.log"):
        submitted = _submit(server, key, _places(200), receiver.url)
        created = submitted.json()
        assert created["status"] == "queued" and created["total"] == 200
        assert submitted.headers["Location"] == f"/v1/jobs/{created['id']}"
        got = receiver.wait_for(2, timeout=120)
        job = _wait_job(server, submitted.headers["Location"], key, timeout=30,
                        until=lambda j: len(j["callback"]["deliveries"]) >= 2)
    first, second = got[0], got[1]
    assert (first.status, second.status) == (500, 200)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert not isinstance(second.verified, Exception), second.verified
    event = payload_of(second)
    assert event["type"] == "job.completed"
    assert event["data"]["id"] == created["id"] and event["data"]["status"] == "succeeded"
    assert [r["id"] for r in event["data"]["results"]] == [f"p{i}" for i in range(200)]
    assert {r["status"] for r in event["data"]["results"]} == {200}
    assert job["status"] == "succeeded" and (job["done"], job["failed_items"]) == (200, 0)
    assert [(d["attempt"], d["status_code"]) for d in job["callback"]["deliveries"]] == [(1, 500), (2, 200)]
    assert job["results"] == event["data"]["results"]
    assert _billed(account) == _item_events(created["id"], 200)


def test_a_worker_killed_mid_job_loses_nothing_and_bills_each_item_once(tmp_path, fake_openweather):
    account, key, secret = _account()
    env = _env(fake_openweather)
    fake_openweather.latency = 0.03  # a few seconds of work: time to kill the worker in the middle
    with Receiver(answers=lambda n: 500 if n == 0 else 200, secret=secret) as receiver, \
            production_server(tmp_path, env) as server:
        first_worker = JobsWorker(env, log_path=tmp_path / "worker-1.log").start()
        try:
            submitted = _submit(server, key, _places(300), receiver.url)
            location = submitted.headers["Location"]
            at_kill = _wait_job(server, location, key, timeout=60, until=lambda j: j["done"] >= 60)
        finally:
            first_worker.stop(signal.SIGKILL)
        assert at_kill["done"] < 300, "the job finished before the worker could be killed"
        with JobsWorker(env, log_path=tmp_path / "worker-2.log"):
            got = receiver.wait_for(2, timeout=180)
            job = _wait_job(server, location, key, timeout=30, until=lambda j: len(j["callback"]["deliveries"]) >= 2)
    assert job["status"] == "succeeded" and job["done"] == 300 and job["failed_items"] == 0
    assert [r["id"] for r in job["results"]] == [f"p{i}" for i in range(300)]
    assert len({r.headers["webhook-id"] for r in got}) == 1
    assert not isinstance(got[-1].verified, Exception)
    # Each item once, the one in hand at the kill included: its event id is the item's.
    assert _billed(account) == _item_events(job["id"], 300)


def test_the_upstream_budget_holds_under_a_job_of_1000_distinct_places(tmp_path, fake_openweather):
    account, key, _ = _account()
    budget = 400
    env = _env(fake_openweather, OPENWEATHER_CALLS_PER_MINUTE=str(budget))
    fake_openweather.reset_calls()
    with production_server(tmp_path, env) as server, JobsWorker(env, log_path=tmp_path / "worker.log"):
        submitted = _submit(server, key, _places(1000))
        job = _wait_job(server, submitted.headers["Location"], key, timeout=240,
                        until=lambda j: j["status"] in ("succeeded", "failed"))
    per_minute = Counter(int(r["time"] // 60) for r in fake_openweather.requests)
    assert job["status"] == "succeeded" and job["failed_items"] == 0, per_minute
    assert sum(per_minute.values()) == 1000
    assert max(per_minute.values()) <= budget, per_minute
    assert len(per_minute) >= 3  # 1000 calls at 400 a minute: the items waited for the next minutes
