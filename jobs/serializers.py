"""The envelope of ``POST /v1/batch`` and ``POST /v1/jobs``, and what they answer.

The envelope is the request list and each item's ``id``: what the answer needs to give
each item its result. Everything else about an item (its endpoint, its parameters) is the
item's own: a bad one is that item's 400 in the results, not the whole request's.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import ProhibitNullCharactersValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from forecasts.operations import OPERATIONS

MAX_BATCH_ITEMS = 100
MAX_JOB_ITEMS = 1000
MAX_ITEM_ID = 100


class JsonText(serializers.CharField):
    """A JSON string kept as it came: not a number turned into text, not trimmed, any code
    point a JSON string can hold (items are stored and echoed as ASCII JSON)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class ItemSerializer(serializers.Serializer):
    id = JsonText(
        max_length=MAX_ITEM_ID, help_text="Your id for the item, echoed in its result; unique in the request."
    )
    endpoint = JsonText(
        max_length=64,
        help_text="The operation, as its path under `/v1/`: " + ", ".join(f"`{name}`" for name in sorted(OPERATIONS))
                  + ". Another name is that item's 400.",
    )
    params = serializers.DictField(
        required=False, default=dict,
        help_text="The operation's query parameters, e.g. `{\"q\": \"London,GB\", \"units\": \"metric\"}`; "
                  "invalid ones are that item's 400.",
    )

    def to_internal_value(self, data: Any) -> Any:
        # The shape is the envelope's (an object with a string id and endpoint and an object
        # of params); what the endpoint and params say is checked per item
        # (``jobs.items.item_run``), so the params are kept as given.
        if not isinstance(data, dict):
            raise serializers.ValidationError("Each request is an object with id, endpoint and params.")
        value: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for name in ("id", "endpoint", "params"):
            field = self.fields[name]
            try:
                value[name] = field.run_validation(data.get(name, serializers.empty))
            except serializers.ValidationError as e:
                errors[name] = e.detail
        if errors:
            raise serializers.ValidationError(errors)
        value["params"] = data.get("params", {})
        return value


class _Requests(serializers.Serializer):
    def validate_requests(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen: set[str] = set()
        repeated = sorted({i["id"] for i in items if i["id"] in seen or seen.add(i["id"])})  # type: ignore[func-returns-value]
        if repeated:
            raise serializers.ValidationError(f"Each id must be unique; repeated: {', '.join(repeated[:5])}.")
        return items


class BatchSerializer(_Requests):
    requests = serializers.ListField(child=ItemSerializer(), min_length=1, max_length=MAX_BATCH_ITEMS,
                                     help_text=f"1 to {MAX_BATCH_ITEMS} requests, answered in this order.")


class JobCreateSerializer(_Requests):
    requests = serializers.ListField(child=ItemSerializer(), min_length=1, max_length=MAX_JOB_ITEMS,
                                     help_text=f"1 to {MAX_JOB_ITEMS} requests, answered in this order.")
    callback_url = serializers.CharField(
        required=False, max_length=2048,
        help_text="An `https` URL (port 443, public addresses only) that receives the signed "
                  "`job.completed` event when the job ends.",
    )


@extend_schema_field({"type": "object", "additionalProperties": True,
                      "description": "Exactly what the single endpoint answers: its document, or its "
                                     "problem document (`application/problem+json`)."})
class ItemBodyField(serializers.JSONField):
    pass


class ItemResultSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.IntegerField(help_text="The HTTP status the single endpoint would answer.")
    body = ItemBodyField()


class BatchResultSerializer(serializers.Serializer):
    results = ItemResultSerializer(many=True, help_text="One result per request, in the request's order.")


class JobCallbackAttemptSerializer(serializers.Serializer):
    attempt = serializers.IntegerField()
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True, help_text="Empty when the receiver did not answer.")


class JobCallbackSerializer(serializers.Serializer):
    url = serializers.CharField()
    deliveries = JobCallbackAttemptSerializer(many=True)


JOB_STATUSES = ("queued", "running", "succeeded", "failed")


class JobSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=JOB_STATUSES)
    total = serializers.IntegerField()
    done = serializers.IntegerField(help_text="Items finished, whatever their status.")
    failed_items = serializers.IntegerField(help_text="Finished items whose status is not 200.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    results = ItemResultSerializer(many=True, required=False, help_text="When the job has finished.")
    callback = JobCallbackSerializer(allow_null=True, required=False)


class JobCreatedSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=JOB_STATUSES)
    created_at = serializers.DateTimeField()
    total = serializers.IntegerField()



class JobPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = JobSerializer(many=True)
