from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from weatherapi.api import COMMON_ERRORS, ApiView


class AccountView(ApiView):
    required_scopes = ("account:read",)
    metering_endpoint = "account"

    @extend_schema(operation_id="account", summary="Your account", responses={200: dict, **COMMON_ERRORS}, tags=["account"])
    def get(self, request: Request) -> Response:
        principal = self.principal(request)
        return Response({"id": principal.account_id, "plan": principal.plan.code})


class AccountUsageView(ApiView):
    required_scopes = ("account:read",)
    metering_endpoint = "account.usage"

    @extend_schema(operation_id="account_usage", summary="Daily usage", responses={200: dict, **COMMON_ERRORS}, tags=["account"])
    def get(self, request: Request) -> Response:
        return Response({"days": []})


class AccountInvoicesView(ApiView):
    required_scopes = ("account:read",)
    metering_endpoint = "account.invoices"

    @extend_schema(operation_id="account_invoices", summary="Invoices", responses={200: dict, **COMMON_ERRORS}, tags=["account"])
    def get(self, request: Request) -> Response:
        return Response({"invoices": []})
