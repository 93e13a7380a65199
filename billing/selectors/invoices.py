from __future__ import annotations

from django.db.models import QuerySet

from billing.models import Invoice


def invoice_list_for_account(*, account_id: int) -> QuerySet[Invoice]:
    return Invoice.objects.filter(account_id=account_id).prefetch_related("lines").order_by("-period")


def invoice_get_for_account(*, account_id: int, number: str) -> Invoice | None:
    """Scoped to the caller's account: another account's number is simply not found."""
    return Invoice.objects.filter(account_id=account_id, number=number).prefetch_related("lines").first()
