"""Typed shapes of the /v1/account* answers (and their OpenAPI components)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.validators import RegexValidator
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
    hard_cap = serializers.BooleanField(help_text="True: the plan has no overage price, so calls beyond the limit are refused with quota_exceeded.")
    cap = serializers.IntegerField(
        allow_null=True,
        help_text="Billable requests this period after which calls are refused with quota_exceeded: the limit of "
                  "a hard-capped plan, or what the spend cap pays for. null: no cap (overage is billed).",
    )
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
    spend_cap = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True,
        help_text="The most this account pays for a calendar month, monthly fee and overage together "
                  "(decimal string); past it billable calls are refused with quota_exceeded. null: no cap.",
    )


SPEND_CAP_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
_MONEY = re.compile(r"[0-9]{1,10}(\.[0-9]{1,2})?", re.ASCII)


class MoneyStringField(serializers.CharField):
    """A non-negative amount as a JSON string with at most two decimals (``"25.00"``), as
    the API writes money; a JSON number is refused (its binary float is not the amount)."""

    default_error_messages = {
        "invalid": "Give a decimal string with at most two decimals, such as \"25.00\".",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=13, trim_whitespace=False, **kwargs)
        # Published as the schema's pattern; to_internal_value matches it whole (a
        # Python "$" would also match before a final newline).
        self.validators.append(RegexValidator(SPEND_CAP_PATTERN, self.error_messages["invalid"]))

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or not _MONEY.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        value = super().run_validation(data)
        return None if value is None else Decimal(value)


class AccountUpdateSerializer(serializers.Serializer):
    """A partial update (PATCH): a field left out keeps its value; ``{}`` changes nothing."""

    spend_cap = MoneyStringField(
        allow_null=True,
        required=False,
        help_text="The most this account pays for a calendar month (UTC), monthly fee and overage together, "
                  "as a decimal string such as \"25.00\"; null removes the cap. Past it, billable calls are "
                  "refused with quota_exceeded until the month ends. The included requests are always "
                  "answered (the fee pays for them): a cap below the fee stops at the included amount.",
    )


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
