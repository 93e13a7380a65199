"""The monthly spend cap: priced exactly as the invoice, enforced by the throttle (with the
metering store and without), changed through PATCH /v1/account and the portal."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.credentials import Principal
from billing.limits import limits_key, plan_limits_load
from billing.models import BillingSettings, Plan
from billing.pricing import MAX_REQUEST_CAP, invoice_draft, monthly_request_cap
from billing.services import spend_cap_set
from billing.throttles import ALLOWED, QUOTA_EXCEEDED, limiter_hit
from tests.billing.conftest import make_plan, subscribe
from tests.factories import AccountFactory, oauth_client_for
from tests.support.client import RoutedClientHandler, routed_api_client

pytestmark = pytest.mark.django_db

LONDON = {"lat": "51.5", "lon": "-0.12"}
CURRENT = "/v1/weather/current"


def _plan(*, fee: str = "0.00", price: str | None = "10.0000", included: int = 2) -> Plan:
    """An unsaved plan, for the pure pricing functions."""
    return Plan(code="p", name="P", monthly_fee=Decimal(fee), requests_per_minute=1000, included_requests=included,
                overage_per_1000=None if price is None else Decimal(price))


def _cap(plan: Plan, spend_cap: str | None) -> int | None:
    return monthly_request_cap(plan=plan, spend_cap=None if spend_cap is None else Decimal(spend_cap))


def _total(plan: Plan, requests: int) -> Decimal:
    return invoice_draft(plan=plan, billable_requests=requests).total


# --- the cap's arithmetic -------------------------------------------------------------------


def test_developer_plan_example():
    # 40.00 fee, 0.15 per 1,000 beyond 3,000,000: 55.00 leaves 15.00, i.e. 100,000 requests.
    plan = _plan(fee="40.00", price="0.1500", included=3_000_000)
    cap = _cap(plan, "55.00")
    assert cap == 3_100_000
    assert _total(plan, cap) == Decimal("55.00")
    assert _total(plan, cap + 1) == Decimal("55.01")


def test_the_last_admitted_request_keeps_the_invoice_within_the_cap_when_the_price_does_not_divide():
    # 1.00 of overage at 0.3333 per 1,000: 3,000 requests cost 0.9999, billed 1.00; 3,001 cost 1.01.
    plan = _plan(fee="5.00", price="0.3333", included=10)
    cap = _cap(plan, "6.00")
    assert cap == 10 + 3000
    assert _total(plan, cap) == Decimal("6.00")
    assert _total(plan, cap + 1) == Decimal("6.01")


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    fee_cents=st.integers(min_value=0, max_value=100_000),
    price=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("999999.9999"), places=4),
    included=st.integers(min_value=0, max_value=10**9),
    cap_cents=st.integers(min_value=0, max_value=10**11),
)
def test_invoice_total_never_exceeds_the_cap_and_one_more_request_would(fee_cents, price, included, cap_cents):
    plan = _plan(fee=str(Decimal(fee_cents) / 100), price=str(price), included=included)
    spend_cap = Decimal(cap_cents) / 100
    cap = monthly_request_cap(plan=plan, spend_cap=spend_cap)
    if spend_cap < plan.monthly_fee:
        # The fee is owed whatever the usage: no overage at all.
        assert cap == included
        return
    if cap is None:  # beyond what the script counts exactly: no cap
        assert included + spend_cap * 1000 / price > MAX_REQUEST_CAP
        return
    assert cap >= included
    assert _total(plan, cap) <= spend_cap
    assert _total(plan, cap + 1) > spend_cap


def test_caps_without_a_spend_cap_or_without_overage():
    assert _cap(_plan(price=None, included=7), None) == 7  # a hard cap is the included amount
    assert _cap(_plan(price=None, included=7), "1000.00") == 7  # ...whatever the spend cap
    assert _cap(_plan(included=7), None) is None  # overage billed, nothing refused
    assert _cap(_plan(fee="9.00", included=7), "8.99") == 7  # below the fee: the included amount
    assert _cap(_plan(fee="9.00", included=0), "0.00") == 0  # nothing billable at all
    assert _cap(_plan(fee="9.00", price="0.0000", included=7), "9.00") is None  # overage costs nothing
    assert _cap(_plan(price="0.0001", included=7), "9999999999.99") is None  # beyond 2**53


# --- the throttle ---------------------------------------------------------------------------


def _capped_account(account, *, spend_cap: str = "0.02", included: int = 2):
    """A plan with 2 included and 0.01 a request beyond them: a cap of 0.02 pays for 2 more."""
    subscribe(account, make_plan("metered", included=included, overage=Decimal("10.0000")))
    spend_cap_set(account=account, spend_cap=Decimal(spend_cap))
    return account


def _calls(client, n: int) -> list:
    return [client.get(CURRENT, LONDON) for _ in range(n)]


def _assert_refused_at_the_cap(refused, *, cap: int) -> None:
    assert refused.status_code == 429, refused.content
    body = refused.json()
    assert refused["Content-Type"].startswith("application/problem+json")
    assert body["code"] == "quota_exceeded" and "spend cap" in body["detail"]
    assert int(refused["Retry-After"]) > 0
    assert refused["RateLimit-Policy"].endswith(f'"month";q={cap};w=2592000')
    assert refused["RateLimit"].startswith('"month";r=0;')


def test_redis_refuses_past_the_cap_and_the_invoice_stays_within_it(redis, account, live_client, upstream):
    _capped_account(account)
    answers = _calls(live_client, 5)
    assert [a.status_code for a in answers[:4]] == [200, 200, 200, 200]
    assert answers[0]["RateLimit"].startswith('"month";r=3;')
    _assert_refused_at_the_cap(answers[4], cap=4)
    call_command("usage_worker", "--once")
    body = live_client.get("/v1/account").json()
    assert body["spend_cap"] == "0.02" and body["quota"]["cap"] == 4
    assert body["billable_requests"] == 4
    assert Decimal(body["upcoming_invoice"]["total"]) == Decimal("0.02")
    # The account endpoints count toward the burst only: still answered past the cap.
    assert live_client.get("/v1/account").status_code == 200


def test_without_redis_refuses_past_the_cap_and_the_invoice_stays_within_it(settings, account, live_client,
                                                                             upstream):
    settings.REDIS_URL = None
    settings.USAGE_REDIS_URL = None
    _capped_account(account)
    answers = _calls(live_client, 5)
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    _assert_refused_at_the_cap(answers[4], cap=4)
    body = live_client.get("/v1/account").json()  # events went straight to the database
    assert body["billable_requests"] == 4 and body["upcoming_invoice"]["total"] == "0.02"


def test_redis_admits_exactly_the_cap_however_many_threads_race(redis):
    account = _capped_account(AccountFactory(), spend_cap="0.25", included=5)  # 5 + 25
    principal = Principal(account_id=account.pk, credential_type="api_key", credential_id=1,
                          credential_prefix="wx", mode="live")  # type: ignore[arg-type]
    plan_limits_load(account_id=account.pk)  # the threads see Redis, not the test's transaction
    with ThreadPoolExecutor(16) as pool:
        verdicts = list(pool.map(lambda _: limiter_hit(principal=principal, counts_month=True)[0], range(100)))
    assert verdicts.count(ALLOWED) == 30 and verdicts.count(QUOTA_EXCEEDED) == 70


def test_refusals_and_the_test_mode_are_not_billed(settings, account, live_client, test_key, upstream):
    settings.REDIS_URL = None
    settings.USAGE_REDIS_URL = None
    _capped_account(account, spend_cap="0.00", included=1)
    assert [a.status_code for a in _calls(live_client, 3)] == [200, 429, 429]
    # Test keys are never billed, so the cap never refuses them.
    sandbox = routed_api_client()
    sandbox.credentials(HTTP_X_API_KEY=test_key)
    assert sandbox.get(CURRENT, {"lat": "10", "lon": "20"}).status_code == 200
    body = live_client.get("/v1/account").json()
    assert body["billable_requests"] == 1 and body["upcoming_invoice"]["total"] == "0.00"


def test_an_entry_written_before_the_cap_existed_is_loaded_again(redis, account, live_client, upstream):
    subscribe(account, make_plan("capped", included=1))
    # What the previous release wrote: no "cap" field. Read as "no cap", it would lift the hard cap.
    redis.hset(limits_key(account.pk), mapping={"code": "capped", "rpm": 1000, "included": 1, "hard_cap": 1})
    assert [a.status_code for a in _calls(live_client, 2)] == [200, 429]
    assert redis.hget(limits_key(account.pk), "cap") == b"1"


def _patch(client, body, **extra):
    return client.patch("/v1/account", data=json.dumps(body), content_type="application/json", **extra)


@pytest.mark.parametrize("store", ["redis", "memory"])
def test_a_cap_change_takes_effect_on_the_next_call(request, settings, store, account, live_client, upstream,
                                                     django_capture_on_commit_callbacks):
    if store == "redis":
        request.getfixturevalue("redis")
    else:
        settings.REDIS_URL = None
        settings.USAGE_REDIS_URL = None
    _capped_account(account, spend_cap="0.00")
    assert [a.status_code for a in _calls(live_client, 3)] == [200, 200, 429]
    with django_capture_on_commit_callbacks(execute=True):
        raised = _patch(live_client, {"spend_cap": "0.01"})
    assert raised.status_code == 200 and raised.json()["quota"]["cap"] == 3
    assert [a.status_code for a in _calls(live_client, 2)] == [200, 429]
    with django_capture_on_commit_callbacks(execute=True):
        removed = _patch(live_client, {"spend_cap": None})
    assert removed.json()["spend_cap"] is None and removed.json()["quota"]["cap"] is None
    assert [a.status_code for a in _calls(live_client, 3)] == [200, 200, 200]  # overage, billed
    with django_capture_on_commit_callbacks(execute=True):
        _patch(live_client, {"spend_cap": "0.00"})  # below what the month used: refused at once
    assert _calls(live_client, 1)[0].status_code == 429


def test_a_spend_cap_change_deletes_the_limits_entry_on_commit(redis, account, django_capture_on_commit_callbacks):
    subscribe(account, make_plan("metered", included=2, overage=Decimal("10.0000")))
    plan_limits_load(account_id=account.pk)
    assert redis.hget(limits_key(account.pk), "cap") == b""  # no cap
    with django_capture_on_commit_callbacks() as callbacks:
        spend_cap_set(account=account, spend_cap=Decimal("0.05"))
    assert redis.exists(limits_key(account.pk))  # not before the commit
    for callback in callbacks:
        callback()
    assert not redis.exists(limits_key(account.pk))
    plan_limits_load(account_id=account.pk)
    assert redis.hget(limits_key(account.pk), "cap") == b"7"


def test_a_hard_capped_plan_keeps_its_cap_whatever_the_spend_cap(settings, account, live_client, upstream):
    settings.REDIS_URL = None
    settings.USAGE_REDIS_URL = None
    subscribe(account, make_plan("capped", included=2))
    spend_cap_set(account=account, spend_cap=Decimal("100.00"))
    answers = _calls(live_client, 3)
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["detail"] == "The monthly quota of 2 requests of your plan is used up."


# --- PATCH /v1/account ----------------------------------------------------------------------


def test_get_shows_no_cap_then_patch_sets_it(account, live_client, django_capture_on_commit_callbacks):
    subscribe(account, make_plan("dev", included=3_000_000, overage=Decimal("0.1500"), fee=Decimal("40.00")))
    before = live_client.get("/v1/account").json()
    assert before["spend_cap"] is None and before["quota"]["cap"] is None
    with django_capture_on_commit_callbacks(execute=True):
        answer = _patch(live_client, {"spend_cap": "55"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["spend_cap"] == "55.00" and body["quota"]["cap"] == 3_100_000
    assert body["quota"]["limit"] == 3_000_000 and body["quota"]["hard_cap"] is False
    assert live_client.get("/v1/account").json()["spend_cap"] == "55.00"
    assert BillingSettings.objects.get(account=account).spend_cap == Decimal("55.00")
    # A partial update: a body without spend_cap changes nothing.
    assert _patch(live_client, {}).json()["spend_cap"] == "55.00"


@pytest.mark.parametrize("body", [
    {"spend_cap": "-1.00"},
    {"spend_cap": "25.001"},
    {"spend_cap": 25},
    {"spend_cap": 25.5},
    {"spend_cap": "abc"},
    {"spend_cap": ""},
    {"spend_cap": " 25"},
    {"spend_cap": "25\n"},
    {"spend_cap": "1e3"},
    {"spend_cap": "NaN"},
    {"spend_cap": "12345678901"},
    {"spend_cap": True},
    {"spend_cap": ["25.00"]},
    ["25.00"],
    "25.00",
])
def test_invalid_spend_caps_are_400_problems(account, live_client, body):
    answer = _patch(live_client, body)
    assert answer.status_code == 400, answer.content
    assert answer["Content-Type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["code"] == "invalid_parameter" and problem["status"] == 400
    assert set(problem["errors"]) <= {"spend_cap", "non_field_errors"}
    assert not BillingSettings.objects.filter(account=account).exists()


def test_malformed_json_is_a_400_problem(live_client):
    answer = live_client.patch("/v1/account", data="{", content_type="application/json")
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_parameter"


def test_patch_needs_the_account_write_scope(account, api_client):
    from oauth2_provider.models import AccessToken

    client_row, _ = oauth_client_for(account)
    for scope in ("account:read", "account:write"):
        AccessToken.objects.create(application=client_row.application, token=f"tok-{scope.replace(':', '')}-0123456789",
                                   scope=scope, expires=timezone.now() + timedelta(hours=1))
    reader = {"HTTP_AUTHORIZATION": "Bearer tok-accountread-0123456789"}
    writer = {"HTTP_AUTHORIZATION": "Bearer tok-accountwrite-0123456789"}
    refused = _patch(api_client, {"spend_cap": "5.00"}, **reader)
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert "account:write" in refused.json()["detail"]
    assert api_client.get("/v1/account", **reader).status_code == 200
    assert api_client.get("/v1/account", **writer).status_code == 403  # writing is not reading
    assert _patch(api_client, {"spend_cap": "5.00"}, **writer).status_code == 200
    assert BillingSettings.objects.get(account=account).spend_cap == Decimal("5.00")


def test_the_schema_lists_each_methods_scope():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]["/v1/account"]
    assert {"oauth2": ["account:read"]} in paths["get"]["security"]
    assert {"oauth2": ["account:write"]} in paths["patch"]["security"]
    spend_cap = paths["patch"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert spend_cap.endswith("AccountUpdateRequest")


def test_another_accounts_cap_is_untouched(account, live_client):
    other = AccountFactory()
    spend_cap_set(account=other, spend_cap=Decimal("9.00"))
    assert _patch(live_client, {"spend_cap": "1.00"}).status_code == 200
    assert BillingSettings.objects.get(account=other).spend_cap == Decimal("9.00")
    assert BillingSettings.objects.get(account=account).spend_cap == Decimal("1.00")


# --- the portal -----------------------------------------------------------------------------


@pytest.fixture
def signed_in(client, account):
    client.force_login(account.owner)
    return client


def test_portal_sets_shows_and_clears_the_cap(signed_in, account, django_capture_on_commit_callbacks):
    subscribe(account, make_plan("dev", included=3_000_000, overage=Decimal("0.1500"), fee=Decimal("40.00")))
    page = signed_in.get("/portal/billing/").content.decode()
    assert 'data-spend-cap=""' in page and 'action="/portal/billing/spend-cap/"' in page
    with django_capture_on_commit_callbacks(execute=True):
        answer = signed_in.post("/portal/billing/spend-cap/", {"spend_cap": "55.00"})
    assert answer.status_code == 303 and answer["Location"] == "/portal/billing/"
    page = signed_in.get("/portal/billing/").content.decode()
    assert 'data-spend-cap="55.00"' in page and "3,100,000" in page
    assert "The spend cap is 55.00 USD a month" in page
    answer = signed_in.post("/portal/billing/spend-cap/", {"spend_cap": ""})
    assert answer.status_code == 303
    assert BillingSettings.objects.get(account=account).spend_cap is None
    assert 'data-spend-cap=""' in signed_in.get("/portal/billing/").content.decode()


@pytest.mark.parametrize("value", ["-1", "1.234", "abc", "100000000000"])
def test_portal_refuses_a_bad_cap_with_the_form_again(signed_in, account, value):
    answer = signed_in.post("/portal/billing/spend-cap/", {"spend_cap": value})
    assert answer.status_code == 400
    assert 'class="error"' in answer.content.decode()
    assert not BillingSettings.objects.filter(account=account).exists()


def test_portal_form_needs_login_and_csrf(client, account):
    answer = client.post("/portal/billing/spend-cap/", {"spend_cap": "1.00"})
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]
    strict = Client(enforce_csrf_checks=True)
    strict.handler = RoutedClientHandler(enforce_csrf_checks=True, force_auth=False)
    strict.force_login(account.owner)
    assert strict.post("/portal/billing/spend-cap/", {"spend_cap": "1.00"}).status_code == 403
    assert not BillingSettings.objects.filter(account=account).exists()
