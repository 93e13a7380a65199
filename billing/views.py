"""/v1/account*: the caller's plan, usage and invoices, and its spend cap. Scoped to the
caller's account."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import principal_of
from accounts.models import Account
from billing import serializers as s
from billing.selectors import account_period, invoice_list_for_account, usage_daily_series
from billing.services import spend_cap_set
from billing.throttles import RateState
from weatherapi.api import ACCOUNT_ERRORS, COMMON_ERRORS, PROBLEM_MEDIA_TYPE, ApiView, problem
from weatherapi.context import request_context
from weatherapi.errors import ERROR_TYPE_BASE, TITLES, NotFound
from weatherapi.scopes import ACCOUNT_READ, ACCOUNT_WRITE

_ACCOUNT_EXAMPLE = OpenApiExample(
    "Developer plan",
    value={
        "id": 42, "name": "Acme",
        "plan": {"code": "developer", "name": "Developer", "monthly_fee": "40.00", "requests_per_minute": 600,
                 "included_requests": 3000000, "overage_per_1000": "0.1500", "hard_cap": False},
        "period": {"start": "2026-11-01", "end": "2026-12-01"},
        "quota": {"limit": 3000000, "used": 3001000, "remaining": 0, "hard_cap": False, "cap": 3100000,
                  "resets_at": "2026-12-01T00:00:00Z"},
        "billable_requests": 3001000,
        "upcoming_invoice": {"currency": "USD", "total": "40.15", "lines": [
            {"kind": "fee", "description": "Developer plan, monthly fee", "quantity": 1,
             "unit_price": "40.0000", "amount": "40.00"},
            {"kind": "overage", "description": "1,000 requests beyond the 3,000,000 included, per 1,000",
             "quantity": 1000, "unit_price": "0.1500", "amount": "0.15"}]},
        "spend_cap": "55.00",
    },
    response_only=True,
)


_SPEND_CAP_INVALID = problem(
    "`invalid_parameter`: the body is not a JSON object with `spend_cap`, or `spend_cap` is not null nor a "
    "decimal string of at most 10 digits and two decimals; `errors` says which.",
    OpenApiExample(
        "invalid_parameter",
        value={"type": ERROR_TYPE_BASE + "invalid_parameter", "title": TITLES["invalid_parameter"], "status": 400,
               "detail": 'spend_cap: Give a decimal string with at most two decimals, such as "25.00".',
               "code": "invalid_parameter", "request_id": "4f1c2a9e0b7d4c51a3e8f6b2d9c0e1a7",
               "errors": {"spend_cap": ['Give a decimal string with at most two decimals, such as "25.00".']}},
        response_only=True,
    ),
)


def _lines(draft) -> list[dict]:  # type: ignore[no-untyped-def]
    return [{"kind": str(line.kind), "description": line.description, "quantity": line.quantity,
             "unit_price": line.unit_price, "amount": line.amount} for line in draft.lines]


def _account_body(request: Request) -> dict:
    """What ``GET`` (and ``PATCH``) answer: the account and its running period."""
    principal = principal_of(request)
    account = Account.objects.filter(pk=principal.account_id).only("id", "name").first()
    rate = request_context(request).rate
    counted = rate.month_counter if isinstance(rate, RateState) else None
    period = account_period(account_id=principal.account_id, month_counter=counted)
    if account is None or period is None:
        raise NotFound("No such account.")
    plan = period.plan
    return {
        "id": account.pk,
        "name": account.name,
        "plan": plan,
        "period": {"start": period.period_start, "end": period.period_end},
        "quota": {"limit": plan.included_requests, "used": period.quota_used,
                  "remaining": period.quota_remaining, "hard_cap": plan.hard_cap,
                  "cap": period.request_cap, "resets_at": period.resets_at},
        "billable_requests": period.billable_requests,
        "upcoming_invoice": {"currency": settings.BILLING_CURRENCY, "total": period.upcoming.total,
                             "lines": _lines(period.upcoming)},
        "spend_cap": period.spend_cap,
    }


class _ScopesByMethod:
    """``required_scopes`` of a view whose methods need different scopes: read on a view
    serving a request (``accounts.permissions.HasScope``, and the schema generator's view
    for each method), the request method's; read on the class, the default's."""

    def __init__(self, default: tuple[str, ...], **by_method: tuple[str, ...]) -> None:
        self.default, self.by_method = default, by_method

    def __get__(self, view: object, owner: type | None = None) -> tuple[str, ...]:
        method = getattr(getattr(view, "request", None), "method", None)
        return self.by_method.get(method or "", self.default)


class AccountView(ApiView):
    """``GET`` reads the account (``account:read``), ``PATCH`` changes its spend cap
    (``account:write``): one path, so one view, each method with its own scope."""

    required_scopes = _ScopesByMethod((ACCOUNT_READ,), PATCH=(ACCOUNT_WRITE,))
    metering_endpoint = "account"

    @extend_schema(
        operation_id="account",
        summary="Your account",
        description="Plan and limits, quota used and remaining this calendar month (UTC), billable "
                    "requests so far, the upcoming invoice and the spend cap.",
        responses={200: OpenApiResponse(s.AccountSerializer, description="The account and its running period."), **ACCOUNT_ERRORS},
        examples=[_ACCOUNT_EXAMPLE],
        tags=["account"],
    )
    def get(self, request: Request) -> Response:
        return Response(s.AccountSerializer(_account_body(request)).data)

    @extend_schema(
        operation_id="account_update",
        summary="Set your spend cap",
        description="Changes the fields sent (the others keep their value). `spend_cap` sets or removes "
                    "the account's monthly spend cap: the most a calendar month (UTC) costs, "
                    "monthly fee and overage together. Past what it pays for, billable calls are refused with "
                    "429 `quota_exceeded` until the month ends, instead of billed as overage. It applies from "
                    "the next call; calls already answered stay billed. Answers the account as `GET` does.",
        request=s.AccountUpdateSerializer,
        responses={200: OpenApiResponse(s.AccountSerializer, description="The account with its new spend cap."),
                   (400, PROBLEM_MEDIA_TYPE): _SPEND_CAP_INVALID, **ACCOUNT_ERRORS},
        examples=[
            OpenApiExample("Set a cap", value={"spend_cap": "55.00"}, request_only=True),
            OpenApiExample("Remove the cap", value={"spend_cap": None}, request_only=True),
            _ACCOUNT_EXAMPLE,
        ],
        tags=["account"],
    )
    def patch(self, request: Request) -> Response:
        data = s.AccountUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = Account.objects.filter(pk=principal_of(request).account_id).first()
        if account is None:
            raise NotFound("No such account.")
        if "spend_cap" in data.validated_data:
            spend_cap_set(account=account, spend_cap=data.validated_data["spend_cap"])
        return Response(s.AccountSerializer(_account_body(request)).data)


class AccountUsageView(ApiView):
    required_scopes = (ACCOUNT_READ,)
    metering_endpoint = "account.usage"
    query_serializer = s.UsageQuerySerializer

    @extend_schema(
        operation_id="account_usage",
        summary="Daily usage",
        description="Requests, billable requests and errors per day (UTC) from start to end inclusive "
                    "(default: the last 30 days; at most the last 366 days up to end).",
        parameters=[s.UsageQuerySerializer],
        responses={200: OpenApiResponse(s.AccountUsageSerializer, description="The daily series and its totals."), **COMMON_ERRORS},
        tags=["account"],
    )
    def get(self, request: Request) -> Response:
        q = self.query(request)
        days = usage_daily_series(account_id=principal_of(request).account_id, start=q["start"], end=q["end"])
        totals = {
            "requests": sum(d.requests for d in days),
            "billable": sum(d.billable for d in days),
            "errors": sum(d.errors for d in days),
        }
        return Response(s.AccountUsageSerializer(
            {"start": q["start"], "end": q["end"], "totals": totals, "days": days}
        ).data)


class AccountInvoicesView(ApiView):
    required_scopes = (ACCOUNT_READ,)
    metering_endpoint = "account.invoices"

    @extend_schema(
        operation_id="account_invoices",
        summary="Invoices",
        description="Issued invoices with their lines, newest first. Issued invoices never change.",
        responses={200: OpenApiResponse(s.InvoiceListSerializer, description="The issued invoices, newest first."), **ACCOUNT_ERRORS},
        tags=["account"],
    )
    def get(self, request: Request) -> Response:
        invoices = invoice_list_for_account(account_id=principal_of(request).account_id)
        return Response(s.InvoiceListSerializer({"invoices": invoices}).data)
