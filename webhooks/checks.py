"""System checks of the webhooks app."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

PRIVATE_TARGETS_ID = "webhooks.E001"


@checks.register(checks.Tags.security, deploy=True)
def private_targets_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``manage.py check --deploy`` refuses WEBHOOK_ALLOW_PRIVATE_TARGETS: with it, the
    worker would POST to loopback addresses of its own pod on a caller's say-so."""
    if getattr(settings, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False):
        return [checks.Error(
            "WEBHOOK_ALLOW_PRIVATE_TARGETS is on: callbacks and webhooks may be sent to loopback addresses.",
            hint="It is for development and tests only; unset it (or set it to 0) in production.",
            id=PRIVATE_TARGETS_ID,
        )]
    return []
