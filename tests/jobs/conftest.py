"""Jobs fixtures: the billing suite's plans and clean limiter; the fake DNS and the network
guard (``tests/support/network.py``) for every test: no jobs test sends a packet outside
127.0.0.0/8."""

import pytest

from tests.billing.conftest import _clean_limiter, _standard_plans  # noqa: F401
from tests.support.network import FakeDns, NetworkGuard


@pytest.fixture(autouse=True)
def _no_packet_leaves(fake_dns: FakeDns, network_guard: NetworkGuard) -> None:
    pass
