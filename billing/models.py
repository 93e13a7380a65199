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
