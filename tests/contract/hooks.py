"""schemathesis hooks of the contract runs (``SCHEMATHESIS_HOOKS``, set by ``runner.run_st``).

The weather operations take exactly one location: ``lat`` and ``lon`` together, ``q``, or
``zip`` (forecasts/schema.py). The schema states that rule in words only (OpenAPI has no
keyword for "exactly one of these parameters"), so schemathesis on its own sends all four,
or none, as data the schema allows, and reads our 400 as a refusal of valid data. These
hooks give every generated request exactly one location form; the schema is not touched.

* ``map_case`` (coverage and fuzzing phases): keep one form (the one a coverage case is
  about), completed from ``FILL`` when a case has none or only half of ``lat``/``lon``. schemathesis checks a changed query against the schema
  again, so a negative case whose invalid value was dropped is then expected to be accepted:
  every check keeps its meaning.
* ``before_add_examples`` (the examples phase, where case hooks do not run): each example
  request becomes one request per location form.

``POST /v1/webhook-endpoints`` takes a ``url`` and ``POST /v1/jobs`` a ``callback_url``
whose host must resolve to public addresses, which no schema can say; and the fuzzed server
must not look names up (a DNS query would leave the machine). Every such URL the schema
allows (a string of 1..2048 characters) becomes a loopback receiver's URL, which the server
(``WEBHOOK_ALLOW_PRIVATE_TARGETS=1``) takes without a lookup; a URL the schema refuses is left
as it is, so a negative case stays one. The items of ``POST /v1/batch`` and ``/v1/jobs``
must have unique ids, which no schema can say either: a repeated one is renamed.
"""

from __future__ import annotations

import zlib
from typing import Any

import schemathesis
from schemathesis.generation.meta import CoveragePhaseData

FORMS: tuple[tuple[str, ...], ...] = (("lat", "lon"), ("q",), ("zip",))
LOCATION_NAMES = frozenset(name for form in FORMS for name in form)
# Completes a form that has no value yet (London).
FILL: dict[str, Any] = {"lat": 51.5085, "lon": -0.1257, "q": "London,GB", "zip": "SW1A,GB"}


def takes_location(operation: Any) -> bool:
    return operation is not None and LOCATION_NAMES <= {parameter.name for parameter in operation.query}


def one_form(query: dict[str, Any], form: tuple[str, ...]) -> dict[str, Any]:
    """``query`` with the location parameters of ``form`` only (completed from FILL)."""
    kept = {name: value for name, value in query.items() if name not in LOCATION_NAMES or name in form}
    for name in form:
        kept.setdefault(name, FILL.get(name))
    return kept


def forms_present(query: dict[str, Any]) -> list[tuple[str, ...]]:
    return [form for form in FORMS if any(name in query for name in form)]


def _form_to_keep(query: dict[str, Any], targeted: str | None) -> tuple[str, ...]:
    candidates = forms_present(query) or list(FORMS)
    for form in candidates:
        if targeted in form:
            return form  # the coverage scenario's own parameter, so its point is kept
    # A stable choice (the same query keeps the same form on replay), spread over the forms.
    return candidates[zlib.crc32(repr(sorted(query.items(), key=str)).encode()) % len(candidates)]


LOOPBACK_RECEIVER = "http://127.0.0.1:9/hooks"
# The operations whose body names a URL we would call, and that URL's field.
URL_FIELDS = {"/v1/webhook-endpoints": "url", "/v1/jobs": "callback_url"}
MANY_REQUESTS = frozenset({"/v1/batch", "/v1/jobs"})


def _unique_ids(body: dict[str, Any]) -> dict[str, Any]:
    """A batch's or job's items with unique ids, which a schema cannot require: a repeated
    id becomes ``<id>~<n>`` (still at most 100 characters)."""
    items = body.get("requests")
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in items):
        return body
    seen: set[str] = set()
    fixed = []
    for n, item in enumerate(items):
        item_id = item["id"]
        if item_id in seen and 1 <= len(item_id) <= 100:
            item_id = f"{item_id[:90]}~{n}"
        seen.add(item_id)
        fixed.append({**item, "id": item_id} if item_id != item["id"] else item)
    return {**body, "requests": fixed} if fixed != items else body


def with_loopback_url(operation: Any, body: Any) -> Any:
    """``body`` with a schema-valid URL we would call replaced by the loopback receiver's,
    and a batch's or job's ids made unique."""
    if operation is None or operation.method.upper() != "POST" or not isinstance(body, dict):
        return body
    field = URL_FIELDS.get(operation.path)
    if field is not None and isinstance(body.get(field), str) and 1 <= len(body[field]) <= 2048:
        body = {**body, field: LOOPBACK_RECEIVER}
    if operation.path in MANY_REQUESTS:
        body = _unique_ids(body)
    return body


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    body = getattr(case, "body", None)
    fixed_body = with_loopback_url(context.operation, body)
    if fixed_body is not body:
        case.body = fixed_body
    if not takes_location(context.operation):
        return case
    query = dict(case.query or {})
    meta = case.meta
    data = meta.phase.data if meta is not None else None
    targeted = data.parameter if isinstance(data, CoveragePhaseData) else None
    fixed = one_form(query, _form_to_keep(query, targeted))
    if fixed != query:
        case.query = fixed  # an assignment: schemathesis re-validates the changed query
    return case


@schemathesis.hook
def before_add_examples(context: Any, examples: list[Any]) -> None:
    for case in examples:
        body = getattr(case, "body", None)
        fixed_body = with_loopback_url(context.operation, body)
        if fixed_body is not body:
            case.body = fixed_body
    if not takes_location(context.operation):
        return
    split = []
    for case in examples:
        query = dict(case.query or {})
        for form in forms_present(query) or list(FORMS):
            split.append(case.derive(query=one_form(query, form), keep_auth=True))
    examples[:] = split
