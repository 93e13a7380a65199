"""/v1/jobs in the process: submission, reads scoped by account, idempotency, callback URL
checks (no worker, a stub DNS, no packet leaves the machine), and ``job_run`` itself."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import connection

from billing.models import UsageEvent
from jobs import services
from jobs.models import IdempotentRequest, Job
from tests.billing.conftest import make_plan, subscribe
from tests.factories import AccountFactory, api_key_for
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

ITEMS = [
    {"id": "oslo", "endpoint": "weather/current", "params": {"q": "Oslo,NO"}},
    {"id": "bad", "endpoint": "weather/current", "params": {"lat": 95, "lon": 0}},
    {"id": "air", "endpoint": "air-quality", "params": {"lat": 59.91, "lon": 10.75}},
]


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("jobs need the task queue, which runs on PostgreSQL (DATABASE_URL)")


def _post(client, body, path="/v1/jobs", **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def _queued_tasks(task: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE task_name = %s AND status = 'todo'", [task])
        return cursor.fetchone()[0]


def test_a_job_is_stored_and_queued_in_one_answer(settings, account, test_client):
    settings.REDIS_URL = None
    response = _post(test_client, {"requests": ITEMS})
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"id", "status", "created_at", "total"}
    assert body["status"] == "queued" and body["total"] == 3 and body["id"].startswith("job_")
    assert response["Location"] == f"/v1/jobs/{body['id']}"
    job = Job.objects.get(account=account)
    assert job.public_id == body["id"] and job.items.count() == 3
    assert _queued_tasks(services.RUN_TASK) == 1
    detail = test_client.get(response["Location"]).json()
    assert detail["status"] == "queued" and detail["done"] == 0 and "results" not in detail
    assert detail["callback"] is None


def test_job_run_answers_each_item_as_its_endpoint_and_finishes(settings, account, test_client):
    settings.REDIS_URL = None
    created = _post(test_client, {"requests": ITEMS}).json()
    job = Job.objects.get(account=account)
    assert services.job_run(job_id=job.id) is True
    detail = test_client.get(f"/v1/jobs/{created['id']}").json()
    assert detail["status"] == "succeeded" and (detail["done"], detail["failed_items"]) == (3, 1)
    assert [(r["id"], r["status"]) for r in detail["results"]] == [("oslo", 200), ("bad", 400), ("air", 200)]
    single = test_client.get("/v1/weather/current", {"lat": 95, "lon": 0}).json()
    assert {k: v for k, v in detail["results"][1]["body"].items() if k != "request_id"} == \
        {k: v for k, v in single.items() if k != "request_id"}
    # Test mode: the sandbox, never billed.
    assert detail["results"][0]["body"]["source"]["provider"] == "sandbox"
    assert not UsageEvent.objects.filter(account=account, billable=True).exists()
    # Finished once: a second run (a stalled task run again) changes nothing.
    assert services.job_run(job_id=job.id) is True
    assert Job.objects.get(pk=job.pk).done == 3


def test_a_job_runs_in_chunks_and_each_live_item_is_billed_once(settings, account, live_key, api_client,
                                                                 upstream):
    settings.REDIS_URL = None
    api_client.credentials(HTTP_X_API_KEY=live_key)
    items = [{"id": f"i{i}", "endpoint": "weather/current", "params": {"lat": 10 + i, "lon": 20}} for i in range(5)]
    _post(api_client, {"requests": items})
    job = Job.objects.get(account=account)
    assert services.job_run(job_id=job.id, chunk=2) is False  # two done, the rest queued again
    assert Job.objects.get(pk=job.pk).done == 2
    assert services.job_run(job_id=job.id, chunk=2) is False
    assert services.job_run(job_id=job.id, chunk=2) is True
    billed = set(UsageEvent.objects.filter(account=account, billable=True).values_list("id", flat=True))
    assert billed == {services.item_event_id(job.id, i) for i in range(5)}
    assert set(UsageEvent.objects.filter(account=account, billable=True).values_list("endpoint", flat=True)) == \
        {"weather.current"}


def test_an_item_past_a_hard_cap_is_a_429_result(settings, account, live_key, api_client, upstream):
    settings.REDIS_URL = None
    subscribe(account, make_plan("tiny", rpm=1000, included=2))
    api_client.credentials(HTTP_X_API_KEY=live_key)
    items = [{"id": f"i{i}", "endpoint": "weather/current", "params": {"lat": 30 + i, "lon": 20}} for i in range(3)]
    created = _post(api_client, {"requests": items}).json()
    services.job_run(job_id=Job.objects.get(account=account).id)
    results = api_client.get(f"/v1/jobs/{created['id']}").json()["results"]
    assert [r["status"] for r in results] == [200, 200, 429]
    assert results[2]["body"]["code"] == "quota_exceeded"


def test_another_accounts_job_is_a_404(settings, test_client):
    settings.REDIS_URL = None
    other = AccountFactory()
    other_client_key = api_key_for(other, mode="test")
    created = _post(test_client, {"requests": ITEMS}).json()
    from tests.support.client import routed_api_client

    stranger = routed_api_client()
    stranger.credentials(HTTP_X_API_KEY=other_client_key)
    response = stranger.get(f"/v1/jobs/{created['id']}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert stranger.get("/v1/jobs").json()["results"] == []
    assert test_client.get(f"/v1/jobs/job_{uuid.uuid4().hex}").status_code == 404
    assert test_client.get("/v1/jobs/nonsense").status_code == 404


def test_the_list_is_newest_first_and_paginated(settings, test_client):
    settings.REDIS_URL = None
    ids = [_post(test_client, {"requests": ITEMS[:1]}).json()["id"] for _ in range(3)]
    first = test_client.get("/v1/jobs", {"limit": 2}).json()
    assert [j["id"] for j in first["results"]] == ids[::-1][:2]
    assert "results" not in first["results"][0] or first["results"][0].get("results") is None
    second = test_client.get(first["next"]).json()
    assert [j["id"] for j in second["results"]] == ids[:1] and second["next"] is None


def test_a_repeated_idempotency_key_returns_the_first_job(settings, account, test_client):
    settings.REDIS_URL = None
    body = {"requests": ITEMS}
    first = _post(test_client, body, HTTP_IDEMPOTENCY_KEY="k-1")
    again = _post(test_client, body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.content == first.content and again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert Job.objects.filter(account=account).count() == 1 and _queued_tasks(services.RUN_TASK) == 1
    other_body = _post(test_client, {"requests": ITEMS[:1]}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert other_body.status_code == 409 and other_body.json()["code"] == "conflict"
    assert _post(test_client, body, HTTP_IDEMPOTENCY_KEY="k-2").status_code == 202
    assert Job.objects.filter(account=account).count() == 2


def test_a_key_still_being_answered_is_a_409(settings, account, test_client):
    settings.REDIS_URL = None
    from django.utils import timezone

    from jobs.idempotency import fingerprint_of

    raw = json.dumps({"requests": ITEMS}).encode()
    IdempotentRequest.objects.create(account=account, path="/v1/jobs", key="busy", fingerprint=fingerprint_of(raw),
                                     created_at=timezone.now())
    response = test_client.post("/v1/jobs", data=raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="busy")
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    assert int(response["Retry-After"]) >= 1


def test_a_repeated_batch_is_replayed_and_billed_once(settings, account, live_key, api_client, upstream):
    settings.REDIS_URL = None
    api_client.credentials(HTTP_X_API_KEY=live_key)
    body = {"requests": [{"id": "x", "endpoint": "weather/current", "params": {"lat": 1, "lon": 2}}]}
    first = _post(api_client, body, path="/v1/batch", HTTP_IDEMPOTENCY_KEY="b-1")
    calls = upstream.calls()
    again = _post(api_client, body, path="/v1/batch", HTTP_IDEMPOTENCY_KEY="b-1")
    assert first.status_code == again.status_code == 200 and again.content == first.content
    assert upstream.calls() == calls
    assert UsageEvent.objects.filter(account=account, billable=True).count() == 1


def test_a_failed_request_gives_its_key_back(settings, account, test_client):
    settings.REDIS_URL = None
    assert _post(test_client, {"requests": []}, HTTP_IDEMPOTENCY_KEY="k-bad").status_code == 400
    assert not IdempotentRequest.objects.filter(key="k-bad").exists()


@pytest.mark.parametrize("url", [
    "https://169.254.169.254/latest/meta-data/",
    "http://hooks.example.com/cb",
    "https://10.1.2.3/cb",
    "https://metadata.example.com/cb",  # resolves (stub DNS) to the metadata address
    "https://hooks.example.com:8443/cb",
])
def test_unsafe_callback_urls_are_refused_at_submission(settings, account, test_client, fake_dns, network_guard,
                                                        url):
    settings.REDIS_URL = None
    fake_dns.add("metadata.example.com", "169.254.169.254")
    fake_dns.add("hooks.example.com", "93.184.215.14")
    response = _post(test_client, {"requests": ITEMS, "callback_url": url})
    assert response.status_code == 400, response.content
    assert "callback_url" in response.json()["errors"]
    assert not Job.objects.filter(account=account).exists() and _queued_tasks(services.RUN_TASK) == 0
    assert network_guard.refused == []


def test_a_public_callback_is_queued_when_the_job_ends(settings, account, test_client, fake_dns, network_guard):
    settings.REDIS_URL = None
    fake_dns.add("hooks.example.com", "93.184.215.14")
    created = _post(test_client, {"requests": ITEMS, "callback_url": "https://hooks.example.com/cb"}).json()
    services.job_run(job_id=Job.objects.get(account=account).id)
    delivery = WebhookDelivery.objects.get(account=account, reference=created["id"])
    assert delivery.url == "https://hooks.example.com/cb" and delivery.event_type == "job.completed"
    payload = json.loads(delivery.payload)
    assert payload["type"] == "job.completed" and payload["data"]["id"] == created["id"]
    assert [r["id"] for r in payload["data"]["results"]] == ["oslo", "bad", "air"]
    assert not delivery.attempts.exists()  # queued, not sent: no worker runs here


def test_without_the_queue_jobs_answer_503(settings, monkeypatch, account, test_client):
    settings.REDIS_URL = None
    monkeypatch.setattr(services, "queue_available", lambda: False)
    response = _post(test_client, {"requests": ITEMS})
    assert response.status_code == 503 and "/v1/batch" in response.json()["detail"]
    assert not Job.objects.exists()


def test_expired_jobs_and_idempotency_records_are_pruned(settings, account, test_client):
    settings.REDIS_URL = None
    from datetime import timedelta

    from django.utils import timezone

    _post(test_client, {"requests": ITEMS}, HTTP_IDEMPOTENCY_KEY="old")
    job = Job.objects.get(account=account)
    services.job_run(job_id=job.id)
    later = timezone.now() + timedelta(days=8)
    assert services.jobs_prune(now=later) == (1, 1)
    assert not Job.objects.exists()
    assert services.jobs_prune(now=later) == (0, 0)


def test_a_job_whose_task_fails_for_good_is_failed_with_the_results_it_has(settings, account, test_client,
                                                                         fake_dns):
    settings.REDIS_URL = None
    fake_dns.add("hooks.example.com", "93.184.215.14")
    created = _post(test_client, {"requests": ITEMS, "callback_url": "https://hooks.example.com/cb"}).json()
    job = Job.objects.get(account=account)
    services.job_run(job_id=job.id, chunk=1)  # one item ran, then the worker's task failed every time
    services.job_fail(job_id=job.id)
    detail = test_client.get(f"/v1/jobs/{created['id']}").json()
    assert detail["status"] == "failed" and detail["done"] == 1
    assert [r["id"] for r in detail["results"]] == ["oslo"]
    delivery = WebhookDelivery.objects.get(account=account, reference=created["id"])
    assert json.loads(delivery.payload)["data"]["status"] == "failed"
    services.job_fail(job_id=job.id)  # once only
    assert WebhookDelivery.objects.filter(account=account, reference=created["id"]).count() == 1
