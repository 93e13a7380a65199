"""Jobs fixtures: the billing suite's plans and clean limiter, and the webhooks suite's fake
DNS and network guard (autouse): no jobs test sends a packet outside 127.0.0.0/8."""

from tests.billing.conftest import _clean_limiter, _standard_plans  # noqa: F401
from tests.webhooks.conftest import fake_dns, network_guard  # noqa: F401
