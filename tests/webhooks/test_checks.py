"""`manage.py check --deploy` refuses WEBHOOK_ALLOW_PRIVATE_TARGETS."""

from __future__ import annotations

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from webhooks.checks import PRIVATE_TARGETS_ID


def _ids(*, deploy: bool) -> set[str]:
    return {message.id for message in checks.run_checks(include_deployment_checks=deploy)}


def test_deploy_check_fails_with_private_targets_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    assert PRIVATE_TARGETS_ID in _ids(deploy=True)
    assert PRIVATE_TARGETS_ID not in _ids(deploy=False)  # development keeps working
    with pytest.raises(SystemCheckError, match="WEBHOOK_ALLOW_PRIVATE_TARGETS"):
        call_command("check", "--deploy", "--tag", "security")


def test_deploy_check_passes_without_it(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    assert PRIVATE_TARGETS_ID not in _ids(deploy=True)
