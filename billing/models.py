from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone


class Plan(models.Model):
    """A price plan. Plans are data, edited in the admin or with ``upsert_plan``."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    monthly_fee = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))]
    )
    requests_per_minute = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    included_requests = models.PositiveBigIntegerField(help_text="Requests included each month.")
    overage_per_1000 = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Price per 1,000 requests beyond the included amount. Empty: the included amount is a hard cap.",
    )
    is_public = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("monthly_fee", "code")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def hard_cap(self) -> bool:
        return self.overage_per_1000 is None


class Subscription(models.Model):
    """An account's plan from a moment on; the newest one that has started is current."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    started_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-started_at", "-id")
        indexes = [models.Index(fields=["account", "-started_at"], name="subscription_account_start")]

    def __str__(self) -> str:
        return f"{self.account_id} → {self.plan.code} from {self.started_at:%Y-%m-%d}"


class BillingSettings(models.Model):
    """An account's own billing choices, one row per account (none: the defaults). Apart
    from ``Subscription``, whose rows are the plan's history: a setting is not re-entered
    on every plan change, and an account on the default plan has no subscription row."""

    account = models.OneToOneField(
        "accounts.Account", on_delete=models.CASCADE, primary_key=True, related_name="billing_settings"
    )
    spend_cap = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="The most the account pays for a calendar month, monthly fee and overage together; past "
                  "it billable calls are refused with quota_exceeded instead of billed. Empty: no cap.",
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "billing settings"
        verbose_name_plural = "billing settings"

    def __str__(self) -> str:
        return f"account {self.account_id}: spend cap {self.spend_cap if self.spend_cap is not None else 'none'}"


class CredentialType(models.TextChoices):
    API_KEY = "api_key", "API key"
    OAUTH = "oauth", "OAuth client"


class UsageEvent(models.Model):
    """One metered /v1/ request. Append-only; the id is made at the request, so every
    retry between the web worker and the database lands on the same row (exactly once).

    The account is a relation without a database constraint: the usage ledger must never
    reject (and so block the stream on) an event whose account was deleted meanwhile.
    """

    id = models.UUIDField(primary_key=True, editable=False)
    # No index of its own: ``usage_account_time`` leads with the account and serves every
    # per-account lookup; a second index only slows the worker's inserts.
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", db_index=False
    )
    credential_type = models.CharField(max_length=8, choices=CredentialType.choices)
    credential_id = models.BigIntegerField()
    endpoint = models.CharField(max_length=40)
    mode = models.CharField(max_length=4)
    status = models.PositiveSmallIntegerField()
    billable = models.BooleanField()
    cache = models.CharField(max_length=8, blank=True, default="", help_text="hit, miss, stale or empty")
    latency_ms = models.PositiveIntegerField()
    occurred_at = models.DateTimeField()
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ("-occurred_at",)
        indexes = [
            models.Index(fields=["account", "occurred_at"], name="usage_account_time"),
            models.Index(fields=["occurred_at"], name="usage_time"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.endpoint} {self.status}"


class UsageDaily(models.Model):
    """Daily rollup per account, credential, endpoint and mode; maintained by the usage
    worker in the transaction that inserts the raw events, counting only rows inserted."""

    day = models.DateField()
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    credential_type = models.CharField(max_length=8, choices=CredentialType.choices)
    credential_id = models.BigIntegerField()
    endpoint = models.CharField(max_length=40)
    mode = models.CharField(max_length=4)
    requests = models.PositiveBigIntegerField(default=0)
    billable = models.PositiveBigIntegerField(default=0)
    errors = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ("-day", "account_id", "endpoint")
        verbose_name = "daily usage"
        verbose_name_plural = "daily usage"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "account", "credential_type", "credential_id", "endpoint", "mode"],
                name="usagedaily_unique_bucket",
            )
        ]
        indexes = [models.Index(fields=["account", "day"], name="usagedaily_account_day")]

    def __str__(self) -> str:
        return f"{self.day} account {self.account_id} {self.endpoint}: {self.requests}"


class UsageErrorDaily(models.Model):
    """Error answers per day, bucket (as ``UsageDaily``) and HTTP status: the portal's
    errors by status. A rollup of its own rather than a status column on ``UsageDaily``
    (docs/design.md, metering): only errors make rows here, so the daily buckets that
    invoices and quotas read keep their size and key, and rows rolled up before this
    table existed need no guessed status. Maintained in the same transaction and from the
    same inserted events as ``UsageDaily``; its ``errors`` add up to ``UsageDaily.errors``
    for every day since."""

    day = models.DateField()
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    credential_type = models.CharField(max_length=8, choices=CredentialType.choices)
    credential_id = models.BigIntegerField()
    endpoint = models.CharField(max_length=40)
    mode = models.CharField(max_length=4)
    status = models.PositiveSmallIntegerField()
    errors = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ("-day", "account_id", "status")
        verbose_name = "daily errors by status"
        verbose_name_plural = "daily errors by status"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "account", "credential_type", "credential_id", "endpoint", "mode", "status"],
                name="usageerrordaily_unique_bucket",
            )
        ]
        indexes = [models.Index(fields=["account", "day"], name="usageerrordaily_account_day")]

    def __str__(self) -> str:
        return f"{self.day} account {self.account_id} {self.endpoint} {self.status}: {self.errors}"


class ImmutableError(Exception):
    pass


class Invoice(models.Model):
    """A monthly invoice. Issued once by ``close_billing_period`` and never changed."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="invoices")
    period = models.DateField(help_text="First day of the billed calendar month (UTC).")
    number = models.CharField(max_length=32, unique=True)
    plan_code = models.CharField(max_length=40)
    plan_name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3, default="USD")
    billable_requests = models.PositiveBigIntegerField(default=0)
    included_requests = models.PositiveBigIntegerField(default=0)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    issued_at = models.DateTimeField(default=timezone.now)
    # Which close run created the row: lets concurrent runs tell their own inserts apart.
    close_run = models.UUIDField(editable=False)

    class Meta:
        ordering = ("-period", "account_id")
        constraints = [models.UniqueConstraint(fields=["account", "period"], name="invoice_one_per_period")]

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not self._state.adding:
            raise ImmutableError("An issued invoice never changes.")
        super().save(*args, **kwargs)


class InvoiceSequence(models.Model):
    """The last invoice number an issuer used in a year: numbers are ``<prefix>-<year>-<n>``,
    consecutive, and say nothing about the account (billing/services/invoices.py takes the
    row's lock inside the transaction that issues the invoices)."""

    prefix = models.CharField(max_length=8)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prefix", "year"], name="invoice_sequence_one_per_year")]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last}"


class InvoiceLine(models.Model):
    class Kind(models.TextChoices):
        FEE = "fee", "Monthly fee"
        OVERAGE = "overage", "Overage"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    description = models.CharField(max_length=200)
    quantity = models.PositiveBigIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=12, decimal_places=4)
    amount = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ("invoice", "id")

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not self._state.adding:
            raise ImmutableError("An issued invoice line never changes.")
        super().save(*args, **kwargs)


class UsageAlert(models.Model):
    """An account passed ``threshold`` % of its plan's included requests in the calendar
    month starting ``period_start``: one row per (account, period, threshold), made by
    ``billing.services.alerts.usage_alerts_check``, which notifies once per row it inserts.
    The counts are those seen when the row was made (the ``usage.threshold`` event's data)."""

    class Threshold(models.IntegerChoices):
        EIGHTY = 80, "80 %"
        HUNDRED = 100, "100 %"

    # No index of its own: the unique constraint's index leads with the account.
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="usage_alerts", db_index=False
    )
    period_start = models.DateField(help_text="First day of the calendar month (UTC).")
    threshold = models.PositiveSmallIntegerField(choices=Threshold.choices)
    included_requests = models.PositiveBigIntegerField()
    used_requests = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-period_start", "account_id", "threshold")
        constraints = [
            models.UniqueConstraint(fields=["account", "period_start", "threshold"], name="usagealert_once_per_period")
        ]

    def __str__(self) -> str:
        return f"account {self.account_id} passed {self.threshold} % in {self.period_start:%Y-%m}"
