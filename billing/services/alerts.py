"""Usage alerts: the account's owner is told by email when its billable requests pass 80 %
and 100 % of its plan's included monthly requests, once per threshold per billing period
(the calendar month, UTC).

The usage worker checks the accounts whose usage a stored batch changed
(``billing.services.usage_worker``). The check reads the period's billable count from the
daily rollups, as the portal and ``GET /v1/account`` do, so it is a state, not an event:
a check that is missed or fails is made good by the account's next batch.

Once, however many checks run at once: each alert is a row of ``UsageAlert`` under a
unique (account, period, threshold) constraint. A check inserts the row and sends the email
in one transaction; a concurrent check's insert of the same row waits for that transaction
and then finds the row (``get_or_create``), so only the inserting check sends. When the
email cannot be handed to the mail server, the transaction rolls back and the next check
sends it (an email that went out just before a failed commit is the one case sent twice).

The same transaction sends the ``usage.threshold`` webhook to the account's endpoints
subscribed to it (``webhooks.services.webhook_event_send`` queues it with the row), with
the counts the row was made with: ``{"threshold", "period_start", "included_requests",
"used_requests"}``. ``usage_alerts_check`` returns the alerts it created.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.conf import settings
from django.core.mail import get_connection, send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.adapter import public_url
from accounts.models import Account
from billing.models import Plan, UsageAlert
from billing.pricing import month_start, monthly_request_cap, next_month, period_bounds
from billing.selectors import (
    plan_default,
    plans_in_force_for_accounts,
    spend_cap_for_account,
    usage_billable_for_accounts,
)
from webhooks.services import webhook_event_send

logger = logging.getLogger(__name__)

THRESHOLDS: tuple[int, ...] = tuple(UsageAlert.Threshold.values)
# The email is sent while the alert's row is locked: a mail server that does not answer
# must not hold it (and the usage worker) for long.
MAIL_TIMEOUT_SECONDS = 10


def usage_alerts_check(*, account_ids: Iterable[int], period: date | None = None) -> list[UsageAlert]:
    """Create the alerts these accounts are due in ``period`` (the month it falls in; default
    the current one) and email each one's owner; returns the alerts this call created.

    An account is due an alert for each threshold its billable requests have reached
    (``used × 100 >= threshold × included``) without one yet. A plan with no included
    requests has nothing to pass. The plan is the one in force now, or at the end of a past
    period (what its invoice prices).
    """
    now = timezone.now()
    period = month_start(period or now.date())
    ids = sorted(set(account_ids))
    if not ids:
        return []
    alerted: defaultdict[int, set[int]] = defaultdict(set)
    for account_id, threshold in UsageAlert.objects.filter(account_id__in=ids, period_start=period).values_list(
        "account_id", "threshold"
    ):
        alerted[account_id].add(threshold)
    ids = [a for a in ids if len(alerted[a]) < len(THRESHOLDS)]
    if not ids:
        return []
    used = usage_billable_for_accounts(account_ids=ids, start=period, end=next_month(period))
    ids = [a for a in ids if used.get(a, 0) > 0]
    if not ids:
        return []
    plans = plans_in_force_for_accounts(account_ids=ids, when=min(now, period_bounds(period)[1]))
    fallback = plan_default() if len(plans) < len(ids) else None
    created: list[UsageAlert] = []
    for account_id in ids:
        plan = plans.get(account_id, fallback)
        if plan is None or plan.included_requests <= 0:
            continue
        for threshold in THRESHOLDS:
            if threshold in alerted[account_id] or used[account_id] * 100 < threshold * plan.included_requests:
                continue
            alert = _alert_create(account_id=account_id, period=period, threshold=threshold, plan=plan,
                                  used=used[account_id])
            if alert is not None:
                created.append(alert)
    return created


def _alert_create(*, account_id: int, period: date, threshold: int, plan: Plan, used: int) -> UsageAlert | None:
    """The alert and its email, or None when another check made it (or the email failed)."""
    try:
        with transaction.atomic():
            alert, created = UsageAlert.objects.get_or_create(
                account_id=account_id, period_start=period, threshold=threshold,
                defaults={"included_requests": plan.included_requests, "used_requests": used},
            )
            if not created:
                return None
            # The webhook's rows and its queued task commit with the alert: sent once.
            webhook_event_send(account_id=account_id, event_type="usage.threshold", data=_alert_data(alert))
            _alert_email(alert=alert, plan=plan)
    except OSError:  # smtplib's errors too: rolled back, so the next check sends it
        logger.warning("usage alert email for account %s (%s %%) failed; it is sent at the next check",
                       account_id, threshold, exc_info=True)
        return None
    return alert


def _alert_data(alert: UsageAlert) -> dict[str, Any]:
    """The ``usage.threshold`` event's data."""
    return {"threshold": alert.threshold, "period_start": alert.period_start.isoformat(),
            "included_requests": alert.included_requests, "used_requests": alert.used_requests}


def _alert_email(*, alert: UsageAlert, plan: Plan) -> None:
    account = Account.objects.select_related("owner").only("id", "name", "owner__email").get(pk=alert.account_id)
    spend_cap = spend_cap_for_account(account_id=account.pk)
    context = {
        "account": account,
        "alert": alert,
        "plan": plan,
        "spend_cap": spend_cap,
        "request_cap": monthly_request_cap(plan=plan, spend_cap=spend_cap),
        "resets_at": period_bounds(alert.period_start)[1],
        "currency": settings.BILLING_CURRENCY,
        "usage_url": public_url(reverse("portal-usage")),
        "billing_url": public_url(reverse("portal-billing")),
    }
    prefix = getattr(settings, "ACCOUNT_EMAIL_SUBJECT_PREFIX", "")
    subject = f"{prefix}You have used {alert.threshold} % of your included requests for {alert.period_start:%B %Y}"
    send_mail(
        subject,
        render_to_string("billing/email/usage_alert.txt", context),
        settings.DEFAULT_FROM_EMAIL,
        [account.owner.email],
        connection=get_connection(timeout=MAIL_TIMEOUT_SECONDS),
    )
