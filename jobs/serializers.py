"""The envelope of ``POST /v1/batch`` and ``POST /v1/jobs``, and what they answer.

The envelope is the request list and each item's ``id``: what the answer needs to give
each item its result. Everything else about an item (its endpoint, its parameters) is the
item's own: a bad one is that item's 400 in the results, not the whole request's.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from forecasts.operations import OPERATIONS

MAX_BATCH_ITEMS = 100
MAX_JOB_ITEMS = 1000
MAX_ITEM_ID = 100


class ItemSerializer(serializers.Serializer):
    id = serializers.CharField(
        max_length=MAX_ITEM_ID, help_text="Your id for the item, echoed in its result; unique in the request."
    )
    endpoint = serializers.ChoiceField(
        choices=sorted(OPERATIONS), help_text="The operation, as its path under `/v1/`."
    )
    params = serializers.DictField(
        required=False, default=dict,
        help_text="The operation's query parameters, e.g. `{\"q\": \"London,GB\", \"units\": \"metric\"}`.",
    )

    def to_internal_value(self, data: Any) -> Any:
        # Only the id is the envelope's; the endpoint and params are checked per item
        # (``jobs.services.item_run``), so keep them as given.
        if not isinstance(data, dict):
            raise serializers.ValidationError("Each request is an object with id, endpoint and params.")
        try:
            item_id = self.fields["id"].run_validation(data.get("id", serializers.empty))
        except serializers.ValidationError as e:
            raise serializers.ValidationError({"id": e.detail}) from e
        return {"id": item_id, "endpoint": data.get("endpoint"), "params": data.get("params", {})}


class _Requests(serializers.Serializer):
    max_items = MAX_BATCH_ITEMS
    requests = ItemSerializer(many=True, allow_empty=False)

    def validate_requests(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(items) > self.max_items:
            raise serializers.ValidationError(f"Give at most {self.max_items} requests.")
        seen: set[str] = set()
        repeated = sorted({i["id"] for i in items if i["id"] in seen or seen.add(i["id"])})  # type: ignore[func-returns-value]
        if repeated:
            raise serializers.ValidationError(f"Each id must be unique; repeated: {', '.join(repeated[:5])}.")
        return items


class BatchRequestSerializer(_Requests):
    max_items = MAX_BATCH_ITEMS


class JobRequestSerializer(_Requests):
    max_items = MAX_JOB_ITEMS
    callback_url = serializers.CharField(
        required=False, max_length=2048,
        help_text="An `https` URL that receives the signed `job.completed` event when the job ends.",
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


class DeliverySerializer(serializers.Serializer):
    attempt = serializers.IntegerField()
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True, help_text="Empty when the receiver did not answer.")


class CallbackSerializer(serializers.Serializer):
    url = serializers.CharField()
    deliveries = DeliverySerializer(many=True)


class JobSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=["queued", "running", "succeeded", "failed"])
    total = serializers.IntegerField()
    done = serializers.IntegerField(help_text="Items finished, whatever their status.")
    failed_items = serializers.IntegerField(help_text="Finished items whose status is not 200.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    results = ItemResultSerializer(many=True, required=False, help_text="When the job has finished.")
    callback = CallbackSerializer(allow_null=True, required=False)


class JobCreatedSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    total = serializers.IntegerField()



class JobPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = JobSerializer(many=True)
