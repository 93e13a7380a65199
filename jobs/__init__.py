"""Many requests in one call: ``POST /v1/batch`` (answered at once) and ``/v1/jobs``
(answered by the worker, with a signed callback when done)."""
