"""The standard plans, shared by the data migration and ``seed_demo``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

DEFAULT_PLAN_CODE = "free"

STANDARD_PLANS: list[dict[str, Any]] = [
    {
        "code": "free",
        "name": "Free",
        "monthly_fee": Decimal("0.00"),
        "requests_per_minute": 60,
        "included_requests": 1_000_000,
        "overage_per_1000": None,
    },
    {
        "code": "developer",
        "name": "Developer",
        "monthly_fee": Decimal("40.00"),
        "requests_per_minute": 600,
        "included_requests": 3_000_000,
        "overage_per_1000": Decimal("0.1500"),
    },
    {
        "code": "business",
        "name": "Business",
        "monthly_fee": Decimal("400.00"),
        "requests_per_minute": 3000,
        "included_requests": 50_000_000,
        "overage_per_1000": Decimal("0.0800"),
    },
]
