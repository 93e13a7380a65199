"""Typed shapes of /v1/webhook-endpoints (and their OpenAPI components)."""

from __future__ import annotations

from rest_framework import serializers

from webhooks.models import EVENT_TYPES
from webhooks.targets import MAX_URL_LENGTH

_EVENTS_HELP = (
    "Event types to send: `usage.threshold` (the account passed 80 % or 100 % of its included "
    "monthly requests) and `job.completed` (a job finished; a job's own `callback_url` gets it too)."
)


class WebhookEndpointCreateSerializer(serializers.Serializer):
    url = serializers.CharField(
        max_length=MAX_URL_LENGTH, trim_whitespace=False,
        help_text="Where to POST the events: an `https://` URL whose host resolves to public addresses "
                  "only (no private, loopback, link-local or metadata addresses), without a user name "
                  "or password.",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), min_length=1, max_length=len(EVENT_TYPES),
        help_text=_EVENTS_HELP,
    )


class WebhookEndpointSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The endpoint's id (`we_…`).")
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES), help_text=_EVENTS_HELP)
    created_at = serializers.DateTimeField()


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        help_text="The account's signing secret (`whsec_…`), the same for every endpoint and job "
                  "callback: verify each request with it as the Standard Webhooks specification says "
                  "(`webhook-id`, `webhook-timestamp`, `webhook-signature`). Rotate it in the portal.",
    )


class WebhookEndpointListSerializer(serializers.Serializer):
    endpoints = WebhookEndpointSerializer(many=True)
