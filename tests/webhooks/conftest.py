"""Fixtures of the webhooks tests: a fake DNS and a network guard (autouse), a local
receiver, private targets allowed.

No test here sends a packet outside 127.0.0.0/8, even when a refusal under test fails:

``fake_dns`` and ``network_guard`` (``tests/support/network.py``) for every test of this
package.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.network import FakeDns, NetworkGuard
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture(autouse=True)
def _no_packet_leaves(fake_dns: FakeDns, network_guard: NetworkGuard) -> None:
    """``tests/support/network.py``: for every test of this package."""


@pytest.fixture
def private_targets(settings: Any) -> None:
    """Deliveries to http://127.0.0.1:<port> allowed (development and tests only)."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server
