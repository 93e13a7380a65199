"""Portal views: thin, one class per operation. Writes go through accounts.services.

Every object is looked up through ``accounts.selectors`` scoped to the signed-in user's
account, so another account's id is a 404, never a 403 that would confirm it exists.
Secrets (a new API key, an OAuth client secret) are rendered in the POST response that
created them and stored nowhere, so they are shown exactly once.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control
from django.views import View
from django.views.generic import TemplateView

from accounts import selectors, services
from accounts.forms import ApiKeyCreateForm, ApiKeyRotateForm, OAuthClientCreateForm
from accounts.models import Account
from weatherapi.errors import ApplicationError


def _no_store(response: HttpResponse) -> HttpResponse:
    # Pages that carry a secret must not be kept by the browser's or a proxy's cache.
    patch_cache_control(response, no_store=True, private=True)
    return response


class LandingView(TemplateView):
    template_name = "landing.html"


class PortalView(View):
    """Base for portal pages: a signed-in user and their account (created if missing)."""

    account: Account

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        user = request.user
        # Superusers and admin-made users have no account until they first open the portal.
        self.account = selectors.account_for_user(user=user) or services.account_ensure_for_user(user=user)  # type: ignore[arg-type]
        return super().dispatch(request, *args, **kwargs)

    def base_context(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "email_verified": selectors.user_email_verified(user=self.request.user),  # type: ignore[arg-type]
        }


# --- API keys ---------------------------------------------------------------------------


class ApiKeyListView(PortalView):
    def get(self, request: HttpRequest) -> HttpResponse:
        return render_keys(self, form=ApiKeyCreateForm())


def render_keys(
    view: PortalView, *, form: ApiKeyCreateForm, revealed: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    context = {
        **view.base_context(),
        "keys": selectors.api_key_list(account=view.account),
        "form": form,
        "revealed": revealed,
    }
    response = render(view.request, "portal/keys.html", context, status=status)
    return _no_store(response) if revealed else response


class ApiKeyCreateView(PortalView):
    def post(self, request: HttpRequest) -> HttpResponse:
        form = ApiKeyCreateForm(request.POST)
        if not form.is_valid():
            return render_keys(self, form=form, status=400)
        try:
            api_key, full_key = services.api_key_create(
                account=self.account,
                mode=form.cleaned_data["mode"],
                name=form.cleaned_data["name"],
                expires_at=form.cleaned_data["expires_on"],
                created_by=request.user,  # type: ignore[arg-type]
            )
        except ApplicationError as e:
            form.add_error(None, e.detail)
            return render_keys(self, form=form, status=e.status)
        revealed = {"title": f"Your new key “{api_key.name or api_key.prefix}”", "secret": full_key}
        return render_keys(self, form=ApiKeyCreateForm(), revealed=revealed, status=201)


class ApiKeyRevokeView(PortalView):
    def get(self, request: HttpRequest, key_id: int) -> HttpResponse:
        api_key = selectors.api_key_get(account=self.account, key_id=key_id)
        return render(request, "portal/key_revoke.html", {**self.base_context(), "key": api_key})

    def post(self, request: HttpRequest, key_id: int) -> HttpResponse:
        api_key = selectors.api_key_get(account=self.account, key_id=key_id)
        services.api_key_revoke(api_key=api_key, actor=request.user)  # type: ignore[arg-type]
        messages.success(request, f"Key {api_key.prefix}… is revoked; calls with it are refused from now on.")
        return redirect("portal-keys")


class ApiKeyRotateView(PortalView):
    def get(self, request: HttpRequest, key_id: int) -> HttpResponse:
        api_key = selectors.api_key_get(account=self.account, key_id=key_id)
        context = {**self.base_context(), "key": api_key, "form": ApiKeyRotateForm()}
        return render(request, "portal/key_rotate.html", context)

    def post(self, request: HttpRequest, key_id: int) -> HttpResponse:
        api_key = selectors.api_key_get(account=self.account, key_id=key_id)
        form = ApiKeyRotateForm(request.POST)
        if form.is_valid():
            try:
                new_key, full_key = services.api_key_rotate(
                    api_key=api_key,
                    actor=request.user,  # type: ignore[arg-type]
                    grace_seconds=form.cleaned_data["grace_seconds"],
                )
            except ApplicationError as e:
                form.add_error(None, e.detail)
            else:
                revealed = {
                    "title": f"The replacement for {api_key.prefix}…",
                    "secret": full_key,
                }
                return render_keys(self, form=ApiKeyCreateForm(), revealed=revealed, status=201)
        context = {**self.base_context(), "key": api_key, "form": form}
        return render(request, "portal/key_rotate.html", context, status=400)


# --- OAuth2 clients ---------------------------------------------------------------------


def render_apps(
    view: PortalView, *, form: OAuthClientCreateForm, revealed: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    context = {
        **view.base_context(),
        "clients": selectors.oauth_client_list(account=view.account),
        "form": form,
        "revealed": revealed,
        "token_url": view.request.build_absolute_uri("/o/token/"),
    }
    response = render(view.request, "portal/apps.html", context, status=status)
    return _no_store(response) if revealed else response


class OAuthClientListView(PortalView):
    def get(self, request: HttpRequest) -> HttpResponse:
        return render_apps(self, form=OAuthClientCreateForm())


class OAuthClientCreateView(PortalView):
    def post(self, request: HttpRequest) -> HttpResponse:
        form = OAuthClientCreateForm(request.POST)
        if not form.is_valid():
            return render_apps(self, form=form, status=400)
        try:
            client, secret = services.oauth_client_create(
                account=self.account,
                name=form.cleaned_data["name"],
                mode=form.cleaned_data["mode"],
                created_by=request.user,  # type: ignore[arg-type]
            )
        except ApplicationError as e:
            form.add_error(None, e.detail)
            return render_apps(self, form=form, status=e.status)
        revealed = {
            "title": f"Credentials of “{client.name}”",
            "client_id": client.application.client_id,
            "secret": secret,
        }
        return render_apps(self, form=OAuthClientCreateForm(), revealed=revealed, status=201)


class OAuthClientRotateSecretView(PortalView):
    def get(self, request: HttpRequest, client_id: int) -> HttpResponse:
        client = selectors.oauth_client_get(account=self.account, client_id=client_id)
        return render(request, "portal/app_rotate.html", {**self.base_context(), "client": client})

    def post(self, request: HttpRequest, client_id: int) -> HttpResponse:
        client = selectors.oauth_client_get(account=self.account, client_id=client_id)
        secret = services.oauth_client_rotate_secret(client=client, actor=request.user)  # type: ignore[arg-type]
        revealed = {
            "title": f"New secret of “{client.name}”",
            "client_id": client.application.client_id,
            "secret": secret,
        }
        return render_apps(self, form=OAuthClientCreateForm(), revealed=revealed)


class OAuthClientDeleteView(PortalView):
    def get(self, request: HttpRequest, client_id: int) -> HttpResponse:
        client = selectors.oauth_client_get(account=self.account, client_id=client_id)
        return render(request, "portal/app_delete.html", {**self.base_context(), "client": client})

    def post(self, request: HttpRequest, client_id: int) -> HttpResponse:
        client = selectors.oauth_client_get(account=self.account, client_id=client_id)
        name = client.name
        services.oauth_client_delete(client=client, actor=request.user)  # type: ignore[arg-type]
        messages.success(request, f"“{name}” is deleted; its tokens no longer work.")
        return redirect("portal-apps")
