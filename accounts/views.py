"""Portal views: thin, one class per operation. Writes go through accounts.services.

Every object is looked up through ``accounts.selectors`` scoped to the signed-in user's
account, so another account's id is a 404, never a 403 that would confirm it exists.
A POST that makes a secret (a new API key, an OAuth client secret) redirects to the list
page, which shows the secret once (Post/Redirect/Get, ``accounts.reveal``): a reload
shows nothing and creates nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import urlencode
from django.views import View
from django.views.generic import TemplateView

from accounts import reveal, selectors, services
from accounts.forms import ApiKeyCreateForm, ApiKeyRotateForm, OAuthClientCreateForm
from accounts.models import Account, ApiKey
from weatherapi.errors import ApplicationError


def _no_store(response: HttpResponse) -> HttpResponse:
    # Pages that carry a secret or a one-time submission token must not be kept by the
    # browser's or a proxy's cache: Back re-asks the server instead of showing an old copy.
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


# --- show once: Post/Redirect/Get -------------------------------------------------------


def _show_once(request: HttpRequest, *, token: str, page: str, revealed: reveal.Revealed) -> HttpResponseRedirect:
    """Hold the new secret for the list page and send the browser there (303: GET it)."""
    reveal.reveal_hold(request, token=token, page=page, revealed=revealed)
    return _see_other(page, shown=token)


def _see_other(page: str, *, shown: str = "") -> HttpResponseRedirect:
    url = reverse(page) + (f"?{urlencode({'shown': shown})}" if shown else "")
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _sent_before(request: HttpRequest, *, token: str, page: str, nothing: str) -> HttpResponseRedirect:
    """A form whose token is already claimed: the first submission's secret if it still
    waits (the browser shows the answer of the last request it sent), else a note."""
    if reveal.reveal_waiting(request, token=token) == page:
        return _see_other(page, shown=token)
    messages.warning(request, f"That form was already sent (or is out of date): {nothing}")
    return _see_other(page)


def _revealed_for(view: PortalView, page: str) -> reveal.Revealed | None:
    return reveal.reveal_pop(view.request, token=view.request.GET.get("shown", ""), page=page)


# --- API keys ---------------------------------------------------------------------------


class ApiKeyListView(PortalView):
    def get(self, request: HttpRequest) -> HttpResponse:
        return render_keys(self, form=ApiKeyCreateForm(), revealed=_revealed_for(self, "portal-keys"))


def render_keys(
    view: PortalView, *, form: ApiKeyCreateForm, revealed: reveal.Revealed | None = None, status: int = 200
) -> HttpResponse:
    context = {
        **view.base_context(),
        "keys": selectors.api_key_list(account=view.account),
        "form": form,
        "submission": reveal.submission_for_form(view.request),
        "revealed": revealed,
    }
    return _no_store(render(view.request, "portal/keys.html", context, status=status))


class ApiKeyCreateView(PortalView):
    def post(self, request: HttpRequest) -> HttpResponse:
        form = ApiKeyCreateForm(request.POST)
        if not form.is_valid():
            return render_keys(self, form=form, status=400)
        token = request.POST.get("submission", "")
        if not reveal.submission_claim(request, token=token):
            return _sent_before(request, token=token, page="portal-keys", nothing="no new key was created.")
        try:
            api_key, full_key = services.api_key_create(
                account=self.account,
                mode=form.cleaned_data["mode"],
                name=form.cleaned_data["name"],
                expires_at=form.cleaned_data["expires_on"],
                created_by=request.user,  # type: ignore[arg-type]
            )
        except ApplicationError as e:
            reveal.submission_release(request, token=token)
            form.add_error(None, e.detail)
            return render_keys(self, form=form, status=e.status)
        revealed = reveal.Revealed(title=f"Your new key “{api_key.name or api_key.prefix}”", secret=full_key)
        return _show_once(request, token=token, page="portal-keys", revealed=revealed)


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
        return self.render_form(api_key, ApiKeyRotateForm())

    def render_form(self, api_key: ApiKey, form: ApiKeyRotateForm, status: int = 200) -> HttpResponse:
        context = {
            **self.base_context(),
            "key": api_key,
            "form": form,
            "submission": reveal.submission_for_form(self.request),
        }
        return _no_store(render(self.request, "portal/key_rotate.html", context, status=status))

    def post(self, request: HttpRequest, key_id: int) -> HttpResponse:
        api_key = selectors.api_key_get(account=self.account, key_id=key_id)
        form = ApiKeyRotateForm(request.POST)
        if not form.is_valid():
            return self.render_form(api_key, form, status=400)
        token = request.POST.get("submission", "")
        if not reveal.submission_claim(request, token=token):
            return _sent_before(request, token=token, page="portal-keys", nothing="the key was not rotated again.")
        try:
            new_key, full_key = services.api_key_rotate(
                api_key=api_key,
                actor=request.user,  # type: ignore[arg-type]
                grace_seconds=form.cleaned_data["grace_seconds"],
            )
        except ApplicationError as e:
            reveal.submission_release(request, token=token)
            form.add_error(None, e.detail)
            return self.render_form(api_key, form, status=400)
        revealed = reveal.Revealed(title=f"The replacement for {api_key.prefix}…", secret=full_key)
        return _show_once(request, token=token, page="portal-keys", revealed=revealed)


# --- OAuth2 clients ---------------------------------------------------------------------


def render_apps(
    view: PortalView, *, form: OAuthClientCreateForm, revealed: reveal.Revealed | None = None, status: int = 200
) -> HttpResponse:
    context = {
        **view.base_context(),
        "clients": selectors.oauth_client_list(account=view.account),
        "form": form,
        "submission": reveal.submission_for_form(view.request),
        "revealed": revealed,
        "token_url": view.request.build_absolute_uri("/o/token/"),
    }
    return _no_store(render(view.request, "portal/apps.html", context, status=status))


class OAuthClientListView(PortalView):
    def get(self, request: HttpRequest) -> HttpResponse:
        return render_apps(self, form=OAuthClientCreateForm(), revealed=_revealed_for(self, "portal-apps"))


class OAuthClientCreateView(PortalView):
    def post(self, request: HttpRequest) -> HttpResponse:
        form = OAuthClientCreateForm(request.POST)
        if not form.is_valid():
            return render_apps(self, form=form, status=400)
        token = request.POST.get("submission", "")
        if not reveal.submission_claim(request, token=token):
            return _sent_before(request, token=token, page="portal-apps", nothing="no new client was created.")
        try:
            client, secret = services.oauth_client_create(
                account=self.account,
                name=form.cleaned_data["name"],
                mode=form.cleaned_data["mode"],
                created_by=request.user,  # type: ignore[arg-type]
            )
        except ApplicationError as e:
            reveal.submission_release(request, token=token)
            form.add_error(None, e.detail)
            return render_apps(self, form=form, status=e.status)
        revealed = reveal.Revealed(
            title=f"Credentials of “{client.name}”", secret=secret, client_id=client.application.client_id
        )
        return _show_once(request, token=token, page="portal-apps", revealed=revealed)


class OAuthClientRotateSecretView(PortalView):
    def get(self, request: HttpRequest, client_id: int) -> HttpResponse:
        client = selectors.oauth_client_get(account=self.account, client_id=client_id)
        context = {**self.base_context(), "client": client, "submission": reveal.submission_for_form(request)}
        return _no_store(render(request, "portal/app_rotate.html", context))

    def post(self, request: HttpRequest, client_id: int) -> HttpResponse:
        client = selectors.oauth_client_get(account=self.account, client_id=client_id)
        token = request.POST.get("submission", "")
        if not reveal.submission_claim(request, token=token):
            # Not a second rotation: it would void the secret the first one showed.
            return _sent_before(request, token=token, page="portal-apps", nothing="no other secret was made.")
        secret = services.oauth_client_rotate_secret(client=client, actor=request.user)  # type: ignore[arg-type]
        revealed = reveal.Revealed(
            title=f"New secret of “{client.name}”", secret=secret, client_id=client.application.client_id
        )
        return _show_once(request, token=token, page="portal-apps", revealed=revealed)


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
