"""Reads for the portal and admin. Every credential read is scoped to one account."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Account, ApiKey, AuditEvent, OAuthClient, User


def account_for_user(*, user: User) -> Account | None:
    return Account.objects.filter(owner=user).first()


def user_email_verified(*, user: User) -> bool:
    """Whether the user may create live credentials (mirrors services._require_live_allowed)."""
    if user.is_staff:
        return True
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.filter(user=user, verified=True).exists()


def api_key_list(*, account: Account) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(account=account).order_by("-created_at", "-id")


def api_key_get(*, account: Account, key_id: int) -> ApiKey:
    """The account's key ``key_id``; another account's id is indistinguishable from none (404)."""
    try:
        return ApiKey.objects.select_related("account").get(account=account, pk=key_id)
    except ApiKey.DoesNotExist as e:
        raise Http404("No such API key.") from e


def oauth_client_list(*, account: Account) -> QuerySet[OAuthClient]:
    return OAuthClient.objects.filter(account=account).select_related("application").order_by("-created_at", "-id")


def oauth_client_get(*, account: Account, client_id: int) -> OAuthClient:
    try:
        return OAuthClient.objects.select_related("application", "account").get(account=account, pk=client_id)
    except OAuthClient.DoesNotExist as e:
        raise Http404("No such OAuth client.") from e


def audit_event_recent(*, account: Account, limit: int = 10) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(account=account).select_related("actor").order_by("-created_at", "-id")[:limit]


def credential_counts(*, account: Account) -> dict[str, int]:
    keys = list(api_key_list(account=account))
    return {
        "active_keys": sum(1 for k in keys if k.status == "active"),
        "all_keys": len(keys),
        "clients": OAuthClient.objects.filter(account=account).count(),
    }


def credential_labels(
    *, account_id: int, api_key_ids: Iterable[int], oauth_client_ids: Iterable[int]
) -> dict[tuple[str, int], str]:
    """Display names of the account's credentials by (credential type, id), as usage
    reports name them. Only this account's credentials are looked up: an id of another
    account's credential gets no name here."""
    labels: dict[tuple[str, int], str] = {}
    keys = ApiKey.objects.filter(account_id=account_id, pk__in=list(api_key_ids)).values_list("pk", "name", "prefix")
    for pk, name, prefix in keys:
        labels[("api_key", pk)] = f"{name} ({prefix}…)" if name else f"{prefix}…"
    clients = OAuthClient.objects.filter(account_id=account_id, pk__in=list(oauth_client_ids)).values_list("pk", "name")
    for pk, name in clients:
        labels[("oauth", pk)] = name
    return labels
