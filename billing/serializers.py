"""Typed shapes of the /v1/account* answers (and their OpenAPI components)."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone
from rest_framework import serializers

MAX_USAGE_SPAN_DAYS = 366
DEFAULT_USAGE_DAYS = 30


class AccountPlanSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    monthly_fee = serializers.DecimalField(max_digits=10, decimal_places=2, help_text="Per month, in the account's currency.")
    requests_per_minute = serializers.IntegerField()
    included_requests = serializers.IntegerField(help_text="Requests included each calendar month (UTC).")
    overage_per_1000 = serializers.DecimalField(
        max_digits=10, decimal_places=4, allow_null=True,
        help_text="Price per 1,000 requests beyond the included amount; null: the included amount is a hard cap.",
    )
    hard_cap = serializers.BooleanField()


class AccountQuotaSerializer(serializers.Serializer):
    limit = serializers.IntegerField(help_text="Included requests this period.")
    used = serializers.IntegerField(help_text="Billable requests this period: successful (2xx) weather, geocoding and air-quality calls with a live credential, including those still being recorded.")
    remaining = serializers.IntegerField()
    hard_cap = serializers.BooleanField(help_text="True: calls beyond the limit are refused with quota_exceeded.")
    resets_at = serializers.DateTimeField()


class InvoiceLineSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["fee", "overage"])
    description = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=4)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)


class UpcomingInvoiceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Decimal string, e.g. \"40.15\".")
    lines = InvoiceLineSerializer(many=True)


class AccountPeriodSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField(help_text="Exclusive: the first day of the next period.")


class AccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    plan = AccountPlanSerializer()
    period = AccountPeriodSerializer()
    quota = AccountQuotaSerializer()
    billable_requests = serializers.IntegerField(help_text="Billable requests stored so far this period.")
    upcoming_invoice = UpcomingInvoiceSerializer()


class UsageQuerySerializer(serializers.Serializer):
    start = serializers.DateField(
        required=False,
        help_text="ISO date (UTC), inclusive; default 29 days before end. At most 365 days before end: "
        "an earlier start is moved up (the answer's start says where the series begins). "
        "A start after end gives an empty series.",
    )
    end = serializers.DateField(required=False, help_text="ISO date (UTC), inclusive; default today.")

    def validate(self, attrs: dict) -> dict:
        # Every pair of valid dates is a valid request (OpenAPI cannot say "start <= end", and
        # a client paging through history should not have to know the cap): the span is capped
        # at MAX_USAGE_SPAN_DAYS ending at end, and start after end is an empty range.
        end = attrs.get("end") or timezone.now().date()
        start = attrs.get("start") or _days_before(end, DEFAULT_USAGE_DAYS - 1)
        return {"start": max(start, _days_before(end, MAX_USAGE_SPAN_DAYS - 1)), "end": end}


def _days_before(day: date, days: int) -> date:
    try:
        return day - timedelta(days=days)
    except OverflowError:  # before 0001-01-01
        return date.min


class UsageDaySerializer(serializers.Serializer):
    date = serializers.DateField(source="day")
    requests = serializers.IntegerField()
    billable = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]  # shadows Serializer.errors in the stubs only


class UsageTotalsSerializer(serializers.Serializer):
    requests = serializers.IntegerField()
    billable = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]  # shadows Serializer.errors in the stubs only


class AccountUsageSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    totals = UsageTotalsSerializer()
    days = UsageDaySerializer(many=True)


class InvoiceSerializer(serializers.Serializer):
    number = serializers.CharField()
    period = serializers.SerializerMethodField(help_text="YYYY-MM")
    plan_code = serializers.CharField()
    plan_name = serializers.CharField()
    currency = serializers.CharField()
    billable_requests = serializers.IntegerField()
    included_requests = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    issued_at = serializers.DateTimeField()
    lines = InvoiceLineSerializer(many=True)

    def get_period(self, invoice) -> str:  # type: ignore[no-untyped-def]
        period: date = invoice.period
        return f"{period:%Y-%m}"


class InvoiceListSerializer(serializers.Serializer):
    invoices = InvoiceSerializer(many=True)
