"""A client generated from the committed document calls every operation in it (issue 20, item 3).

openapi-python-client turns ``docs/openapi.yaml`` into a Python package; the tests import it
and call each operation of the document through it against gunicorn with the production
settings (the fake OpenWeather behind a live key, the sandbox behind a test key). Each answer
must parse into the generated model with sensible values, and every field of it must be one
the model declares (nothing left over in ``additional_properties``). The operations are read
from the document: one added without a call here fails ``test_operation_works_through_the_generated_client``.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import httpx
import pytest
import yaml
from django.db import connection

from accounts.services import api_key_create
from billing.models import Subscription, UsageDaily
from billing.services import plan_upsert, subscription_change
from billing.services.invoices import billing_period_close
from jobs.services import job_run
from tests.factories import AccountFactory
from tests.support.production import HTTPS, production_server

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "openapi.yaml"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "weather_api_generated_client"
HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


def document_operations() -> dict[str, str]:
    """operationId -> "METHOD /path", for every operation of the committed document."""
    document = yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))
    return {
        operation["operationId"]: f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("generated")
    config = out / "generator.yaml"
    # The generator formats its output with `ruff` by default (a post hook); formatting is
    # not under test, and a missing `ruff` on PATH would be a warning.
    config.write_text("post_hooks: []\n", encoding="utf-8")
    result = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(COMMITTED), "--output-path", str(out / PACKAGE),
         "--meta", "none", "--config", str(config)],
        cwd=out, capture_output=True, text=True, timeout=300, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # What the generator cannot represent it skips with a warning, and still exits 0.
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def operation_module(package: ModuleType, operation_id: str) -> ModuleType:
    """The generated module of an operation: ``<package>.api.<tag>.<operation_id>``."""
    found = sorted((Path(package.__file__).parent / "api").glob(f"*/{operation_id}.py"))
    assert len(found) == 1, f"the generated client has no single module for {operation_id}: {found}"
    return importlib.import_module(f"{PACKAGE}.api.{found[0].parent.name}.{operation_id}")


def undeclared(value: Any, where: str = "") -> list[str]:
    """Fields of an answer that no generated model declares (kept in ``additional_properties``).
    Models declaring no field at all (free-form maps such as ``local_names``) hold their
    content there by design."""
    if attrs.has(type(value)):
        declared = [f.name for f in attrs.fields(type(value)) if f.name != "additional_properties"]
        found = [f"{where or '.'}: {sorted(value.additional_properties)}"] if declared and value.additional_properties else []
        for name in declared:
            found += undeclared(getattr(value, name), f"{where}.{name}")
        return found
    if isinstance(value, list):
        return [item for i, v in enumerate(value) for item in undeclared(v, f"{where}[{i}]")]
    return []


# --- The server and the callers ------------------------------------------------------------


@pytest.fixture(scope="module")
def server(django_db_setup, fake_openweather_server, tmp_path_factory) -> Iterator[Any]:
    # Module-wide: one gunicorn for every operation. It reads the rows each test commits.
    env = {
        "OPENWEATHER_BASE_URL": fake_openweather_server.url,
        "OPENWEATHER_API_KEY": fake_openweather_server.api_key,
        "CACHE_KEY_PREFIX": f"genclient{os.getpid()}",
        # The webhook endpoint made through the client is a loopback URL: no name to look up.
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
    }
    with production_server(tmp_path_factory.mktemp("gunicorn"), env) as running:
        yield running


@dataclass
class Api:
    """The generated package and two of its clients: a live key (answered from the fake
    OpenWeather) and a test key (the sandbox), on one account with an issued invoice."""

    package: ModuleType
    live: Any
    sandbox: Any

    @property
    def models(self) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.models")

    def call(self, operation_id: str, *, client: Any = None, **kwargs: Any) -> Any:
        return operation_module(self.package, operation_id).sync_detailed(client=client or self.live, **kwargs)

    def ok(self, operation_id: str, model: str, **kwargs: Any) -> Any:
        response = self.call(operation_id, **kwargs)
        assert response.status_code == 200, (operation_id, kwargs, response.status_code, response.content)
        parsed = response.parsed
        assert isinstance(parsed, getattr(self.models, model)), (operation_id, type(parsed))
        assert undeclared(parsed) == [], (operation_id, kwargs)
        return parsed

    def problem(self, operation_id: str, status: int, **kwargs: Any) -> Any:
        response = self.call(operation_id, **kwargs)
        assert response.status_code == status, (operation_id, kwargs, response.status_code, response.content)
        assert response.headers["content-type"].startswith("application/problem+json")
        parsed = response.parsed
        assert isinstance(parsed, self.models.Problem), (operation_id, type(parsed))
        assert parsed.status == status and parsed.request_id == response.headers["x-request-id"]
        assert undeclared(parsed) == []
        return parsed


PERIOD = dt.date(2026, 10, 1)


@pytest.fixture
def api(generated, server) -> Iterator[Api]:
    plan, _ = plan_upsert(code="genclient", name="Generated client", requests_per_minute=100_000,
                          included_requests=0, overage_per_1000=Decimal("1.0000"), monthly_fee=Decimal("3.00"))
    account = AccountFactory()
    account.created_at = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)  # a customer before the invoiced period
    account.save(update_fields=["created_at"])
    subscription_change(account=account, plan=plan)
    Subscription.objects.filter(account=account).update(started_at=dt.datetime(2026, 9, 2, tzinfo=dt.UTC))
    UsageDaily.objects.create(day=dt.date(2026, 10, 4), account=account, credential_type="api_key", credential_id=1,
                              endpoint="weather.current", mode="live", requests=2005, billable=2000, errors=5)
    billing_period_close(period=PERIOD)
    clients = []
    for mode in ("live", "test"):
        _, key = api_key_create(account=account, mode=mode, name=f"generated client ({mode})")
        clients.append(generated.AuthenticatedClient(
            base_url=server.url, token=key, prefix="", auth_header_name="X-API-Key",
            # A copy: the generated client writes its auth header into the dict it is given.
            headers=dict(HTTPS), timeout=httpx.Timeout(30.0), raise_on_unexpected_status=True,
        ))
    yield Api(generated, *clients)
    for client in clients:
        client.get_httpx_client().close()


# --- One call per operation of the document ---------------------------------------------------

CALLS: dict[str, Callable[[Api], None]] = {}


def calls(operation_id: str) -> Callable[[Callable[[Api], None]], Callable[[Api], None]]:
    def register(check: Callable[[Api], None]) -> Callable[[Api], None]:
        CALLS[operation_id] = check
        return check

    return register


def _number(value: Any) -> bool:
    # JSON has one number type: the generated models keep 84 an int where they declare float.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _source(source: Any, provider: str) -> None:
    assert source.provider.value == provider
    assert isinstance(source.cached, bool) and isinstance(source.stale, bool) and source.stale is False
    assert isinstance(source.fetched_at, dt.datetime) and source.fetched_at.utcoffset() == dt.timedelta(0)
    assert isinstance(source.age_seconds, int) and source.age_seconds >= 0


@calls("weather_current")
def _weather_current(api: Api) -> None:
    units = api.models.WeatherCurrentUnits
    for where, name, country in (
        ({"lat": 51.5085, "lon": -0.1257}, "London", "GB"),
        ({"q": "Zürich,CH"}, "Zürich", "CH"),
        ({"zip_": "SW1A,GB"}, None, "GB"),
    ):
        weather = api.ok("weather_current", "CurrentWeather", units=units.IMPERIAL, lang="de", **where)
        _source(weather.source, "openweather")
        assert weather.location.country == country and (name is None or weather.location.name == name), where
        assert weather.units.value == "imperial"
        assert _number(weather.temperature) and isinstance(weather.observed_at, dt.datetime)
        assert _number(weather.humidity) and 0 <= weather.humidity <= 100
        assert weather.conditions and isinstance(weather.conditions[0].code, int)
        assert weather.precipitation.snow_1h is None  # a null the model keeps as None
        assert isinstance(weather.timezone_offset, int)
    sandbox = api.ok("weather_current", "CurrentWeather", client=api.sandbox, lat=10.0, lon=20.0)
    _source(sandbox.source, "sandbox")
    assert sandbox.location.country is None and sandbox.units.value == "metric"
    # Exactly one location: more than one, none, or half of lat/lon is the documented 400.
    for where, field in (({"lat": 51.5, "lon": -0.1, "q": "London,GB"}, "location"), ({}, "location"),
                         ({"lat": 51.5}, "lon")):
        problem = api.problem("weather_current", 400, **where)
        assert problem.code.value == "invalid_parameter"
        assert isinstance(problem.errors, api.models.ProblemErrors), where
        assert field in problem.errors.additional_properties, (where, problem.errors.additional_properties)


@calls("weather_forecast")
def _weather_forecast(api: Api) -> None:
    for where in ({"lat": 51.5085, "lon": -0.1257}, {"q": "London,GB"}, {"zip_": "SW1A,GB"}):
        forecast = api.ok("weather_forecast", "Forecast", cnt=3, **where)
        _source(forecast.source, "openweather")
        assert forecast.location.country == "GB" and forecast.units.value == "metric"
        assert len(forecast.steps) == 3
        times = [step.time for step in forecast.steps]
        assert all(isinstance(t, dt.datetime) for t in times) and times == sorted(times)
        assert all(_number(step.temperature) for step in forecast.steps)
    assert api.problem("weather_forecast", 400, q="London,GB", zip_="SW1A,GB").errors.additional_properties["location"]


@calls("geocode")
def _geocode(api: Api) -> None:
    found = api.ok("geocode", "Geocode", q="Springfield,US", limit=2)
    _source(found.source, "openweather")
    assert [(p.name, p.country) for p in found.results] == [("Springfield", "US")] * 2
    assert all(_number(p.lat) and _number(p.lon) for p in found.results)
    assert api.ok("geocode", "Geocode", q="Atlantis").results == []


@calls("geocode_reverse")
def _geocode_reverse(api: Api) -> None:
    near = api.ok("geocode_reverse", "Geocode", lat=51.5085, lon=-0.1257, limit=1)
    assert [p.name for p in near.results] == ["London"]
    assert near.results[0].local_names is None or isinstance(near.results[0].local_names.additional_properties, dict)


@calls("air_quality")
def _air_quality(api: Api) -> None:
    air = api.ok("air_quality", "AirQuality", lat=51.5085, lon=-0.1257)
    _source(air.source, "openweather")
    assert air.measurements and 1 <= air.measurements[0].aqi <= 5
    assert _number(air.measurements[0].components.pm2_5)


@calls("account")
def _account(api: Api) -> None:
    account = api.ok("account", "Account")
    assert account.plan.code == "genclient" and account.plan.requests_per_minute == 100_000
    assert Decimal(account.plan.monthly_fee) == Decimal("3.00")
    assert isinstance(account.period.start, dt.date) and account.period.start < account.period.end
    assert isinstance(account.quota.used, int) and account.quota.hard_cap is False
    assert account.upcoming_invoice.currency == "USD" and Decimal(account.upcoming_invoice.total) >= Decimal("3.00")


@calls("account_update")
def _account_update(api: Api) -> None:
    request = api.models.PatchedAccountUpdateRequest
    assert api.ok("account", "Account").spend_cap is None
    account = api.ok("account_update", "Account", body=request(spend_cap="13.00"))
    # 3.00 fee, nothing included, 1.00 per 1,000: 10.00 of overage pays for 10,000 requests.
    assert Decimal(account.spend_cap) == Decimal("13.00") and account.quota.cap == 10_000
    assert api.ok("account_update", "Account", body=request()).spend_cap == "13.00"  # nothing sent, nothing changed
    cleared = api.ok("account_update", "Account", body=request(spend_cap=None))
    assert cleared.spend_cap is None and cleared.quota.cap is None
    problem = api.problem("account_update", 400, body=request(spend_cap="-1.00"))
    assert problem.code.value == "invalid_parameter" and "spend_cap" in problem.errors.additional_properties


@calls("account_usage")
def _account_usage(api: Api) -> None:
    usage = api.ok("account_usage", "AccountUsage", start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31))
    assert (usage.start, usage.end, len(usage.days)) == (dt.date(2026, 10, 1), dt.date(2026, 10, 31), 31)
    assert (usage.totals.requests, usage.totals.billable, usage.totals.errors) == (2005, 2000, 5)
    assert [day.date for day in usage.days] == [dt.date(2026, 10, d) for d in range(1, 32)]
    assert [day.billable for day in usage.days if day.billable] == [2000]


@calls("account_invoices")
def _account_invoices(api: Api) -> None:
    (invoice,) = api.ok("account_invoices", "InvoiceList").invoices
    assert (invoice.period, invoice.plan_code, invoice.currency, Decimal(invoice.total)) == (
        "2026-10", "genclient", "USD", Decimal("5.00"))
    assert isinstance(invoice.issued_at, dt.datetime)
    assert [(line.kind.value, Decimal(line.amount)) for line in invoice.lines] == [
        ("fee", Decimal("3.00")), ("overage", Decimal("2.00"))]


def _created_endpoint(api: Api) -> Any:
    body = api.models.WebhookEndpointCreateRequest(
        url="http://127.0.0.1:9/hooks", events=[api.models.WebhookEventType.JOB_COMPLETED])
    response = api.call("webhook_endpoints_create", body=body)
    assert response.status_code == 201, response.content
    assert isinstance(response.parsed, api.models.WebhookEndpointCreated) and undeclared(response.parsed) == []
    return response.parsed


@calls("webhook_endpoints_create")
def _webhook_endpoints_create(api: Api) -> None:
    created = _created_endpoint(api)
    assert created.id.startswith("we_") and created.secret.startswith("whsec_")
    assert [e.value for e in created.events] == ["job.completed"] and isinstance(created.created_at, dt.datetime)
    refused = api.problem("webhook_endpoints_create", 400, body=api.models.WebhookEndpointCreateRequest(
        url="https://169.254.169.254/latest/meta-data/", events=[api.models.WebhookEventType.USAGE_THRESHOLD]))
    assert "url" in refused.errors.additional_properties


@calls("webhook_endpoints_list")
def _webhook_endpoints_list(api: Api) -> None:
    assert api.ok("webhook_endpoints_list", "WebhookEndpointList").endpoints == []
    created = _created_endpoint(api)
    (listed,) = api.ok("webhook_endpoints_list", "WebhookEndpointList").endpoints
    assert (listed.id, listed.url) == (created.id, "http://127.0.0.1:9/hooks")


@calls("webhook_endpoints_delete")
def _webhook_endpoints_delete(api: Api) -> None:
    created = _created_endpoint(api)
    assert api.call("webhook_endpoints_delete", id=created.id).status_code == 204
    assert api.problem("webhook_endpoints_delete", 404, id=created.id).code.value == "not_found"


def _items(api: Api) -> list[Any]:
    item, params = api.models.ItemRequest, api.models.ItemRequestParams
    return [
        item(id="london", endpoint="weather/current", params=params.from_dict({"q": "London,GB"})),
        item(id="bad", endpoint="weather/current", params=params.from_dict({"lat": 95, "lon": 0})),
    ]


@calls("batch")
def _batch(api: Api) -> None:
    body = api.models.BatchRequest(requests=_items(api))
    result = api.ok("batch", "BatchResult", body=body, idempotency_key="genclient-batch-1")
    assert [(r.id, r.status) for r in result.results] == [("london", 200), ("bad", 400)]
    assert result.results[0].body.additional_properties["location"]["name"] == "London"
    assert result.results[1].body.additional_properties["code"] == "invalid_parameter"
    replayed = api.call("batch", body=body, idempotency_key="genclient-batch-1")
    assert replayed.status_code == 200 and replayed.headers["Idempotent-Replayed"] == "true"
    assert api.problem("batch", 400, body=api.models.BatchRequest(requests=[])).code.value == "invalid_parameter"


def _created_job(api: Api) -> Any:
    response = api.call("jobs_create", client=api.sandbox, body=api.models.JobCreateRequest(requests=_items(api)))
    if connection.vendor != "postgresql":
        # The documented answer of a server on SQLite: no task queue.
        assert response.status_code == 503 and response.parsed.code.value == "service_unavailable"
        return None
    assert response.status_code == 202, response.content
    assert isinstance(response.parsed, api.models.JobCreated) and undeclared(response.parsed) == []
    assert response.headers["Location"] == f"/v1/jobs/{response.parsed.id}"
    return response.parsed


@calls("jobs_create")
def _jobs_create(api: Api) -> None:
    created = _created_job(api)
    if created is not None:
        assert created.status.value == "queued" and created.total == 2 and created.id.startswith("job_")
        assert isinstance(created.created_at, dt.datetime)


@calls("jobs_get")
def _jobs_get(api: Api) -> None:
    created = _created_job(api)
    if created is None:
        return
    queued = api.ok("jobs_get", "Job", client=api.sandbox, job_id=created.id)
    assert (queued.status.value, queued.done, queued.total) == ("queued", 0, 2)
    job_run(job_id=uuid.UUID(hex=created.id.removeprefix("job_")))  # what the worker does
    job = api.ok("jobs_get", "Job", client=api.sandbox, job_id=created.id)
    assert (job.status.value, job.done, job.failed_items) == ("succeeded", 2, 1)
    assert isinstance(job.finished_at, dt.datetime) and job.callback is None
    assert [(r.id, r.status) for r in job.results] == [("london", 200), ("bad", 400)]
    assert api.ok("jobs_get", "Job", job_id=created.id).id == created.id  # the account's other key
    assert api.problem("jobs_get", 404, client=api.sandbox, job_id="job_" + "0" * 32).code.value == "not_found"


@calls("jobs_list")
def _jobs_list(api: Api) -> None:
    created = [_created_job(api) for _ in range(3)]
    page = api.ok("jobs_list", "JobPage", client=api.sandbox, limit=2)
    if created[0] is None:
        assert page.results == [] and page.next_ is None
        return
    assert [j.id for j in page.results] == [c.id for c in created[::-1][:2]]
    assert page.next_ is not None and page.previous is None


# --- The tests ---------------------------------------------------------------------------------


def test_the_generator_makes_a_function_for_every_operation(generated):
    for operation_id in document_operations():
        assert callable(getattr(operation_module(generated, operation_id), "sync_detailed", None)), operation_id


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("operation_id", sorted(document_operations()))
def test_operation_works_through_the_generated_client(api, operation_id):
    assert operation_id in CALLS, (
        f"{document_operations()[operation_id]} ({operation_id}) is in docs/openapi.yaml but no call "
        f"through the generated client is written for it in {Path(__file__).name}"
    )
    CALLS[operation_id](api)
