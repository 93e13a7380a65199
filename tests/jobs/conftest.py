"""Jobs fixtures: the billing suite's plans and clean limiter."""

from tests.billing.conftest import _clean_limiter, _standard_plans  # noqa: F401
