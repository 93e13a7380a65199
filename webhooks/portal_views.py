"""The portal's webhooks page: the signing secret (shown, rotatable), the endpoints, and the
recent deliveries with their attempts (redeliverable). Scoped to the signed-in user's
account: another account's endpoint or delivery is a 404.

Every POST redirects back to the page (Post/Redirect/Get) with a message. The signing
secret is on the page itself (it must be, for receivers to verify), so the page is sent
with ``Cache-Control: no-store``. Rotation carries a one-time submission token
(``accounts.reveal``): a form sent twice must not rotate twice, which would retire at once
the secret the first rotation left signing for its grace period.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control

from accounts import reveal
from accounts.views import PortalView
from weatherapi.errors import ApplicationError, NotFound
from webhooks import selectors, services
from webhooks.forms import WebhookEndpointForm, WebhookSecretRotateForm
from webhooks.queue import queue_available

PAGE = "portal-webhooks"


def _back() -> HttpResponseRedirect:
    response = HttpResponseRedirect(reverse(PAGE))
    response.status_code = 303
    return response


def render_webhooks(
    view: PortalView,
    *,
    endpoint_form: WebhookEndpointForm | None = None,
    rotate_form: WebhookSecretRotateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    account_id = view.account.pk
    secret = services.webhook_secret_get_or_create(account_id=account_id)
    now = timezone.now()
    context = {
        **view.base_context(),
        "secret": secret,
        "previous_in_grace": secret.previous_in_grace(now),
        "endpoints": selectors.webhook_endpoint_list(account_id=account_id),
        "deliveries": selectors.webhook_delivery_list(account_id=account_id),
        "endpoint_form": endpoint_form or WebhookEndpointForm(),
        "rotate_form": rotate_form or WebhookSecretRotateForm(),
        "submission": reveal.submission_for_form(view.request),
        "queue_available": queue_available(),
    }
    response = render(view.request, "portal/webhooks.html", context, status=status)
    patch_cache_control(response, no_store=True, private=True)
    return response


class WebhooksPageView(PortalView):
    def get(self, request: HttpRequest) -> HttpResponse:
        return render_webhooks(self)


class WebhookSecretRotateView(PortalView):
    def post(self, request: HttpRequest) -> HttpResponse:
        form = WebhookSecretRotateForm(request.POST)
        if not form.is_valid():
            return render_webhooks(self, rotate_form=form, status=400)
        if not reveal.submission_claim(request, token=request.POST.get("submission", "")):
            messages.warning(request, "That form was already sent (or is out of date): the secret was not rotated again.")
            return _back()
        grace = timedelta(seconds=form.cleaned_data["grace_seconds"])
        secret = services.webhook_secret_rotate(account_id=self.account.pk, grace=grace)
        if secret.previous_valid_until is not None:
            messages.success(
                request,
                f"New signing secret. The previous one also signs until {secret.previous_valid_until:%Y-%m-%d %H:%M} UTC.",
            )
        else:
            messages.success(request, "New signing secret. The previous one no longer signs.")
        return _back()


class WebhookEndpointCreateView(PortalView):
    def post(self, request: HttpRequest) -> HttpResponse:
        form = WebhookEndpointForm(request.POST)
        if not form.is_valid():
            return render_webhooks(self, endpoint_form=form, status=400)
        try:
            endpoint = services.webhook_endpoint_create(
                account_id=self.account.pk, url=form.cleaned_data["url"], events=form.cleaned_data["events"]
            )
        except ApplicationError as e:
            for field, errors in (e.errors or {"__all__": [e.detail]}).items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
            return render_webhooks(self, endpoint_form=form, status=e.status)
        messages.success(request, f"Endpoint {endpoint.public_id} added: {endpoint.url}")
        return _back()


class WebhookEndpointDeleteView(PortalView):
    def post(self, request: HttpRequest, endpoint_id: str) -> HttpResponse:
        try:
            services.webhook_endpoint_delete(account_id=self.account.pk, endpoint_id=endpoint_id)
        except NotFound as e:
            raise Http404(e.detail) from e
        messages.success(request, f"Endpoint {endpoint_id} deleted; nothing more is sent to it.")
        return _back()


class WebhookRedeliverView(PortalView):
    def post(self, request: HttpRequest, msg_id: str) -> HttpResponse:
        try:
            delivery = services.webhook_redeliver(account_id=self.account.pk, delivery_id=msg_id)
        except NotFound as e:
            raise Http404(e.detail) from e
        if queue_available():
            messages.success(request, f"Delivery {delivery.msg_id} is queued again.")
        else:
            messages.warning(request, f"Delivery {delivery.msg_id} is pending, but this server runs no task queue.")
        return _back()
