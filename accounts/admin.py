"""Operators' admin. Writes go through accounts.services so they are audited and take
effect on cached credentials at once; secrets (keys, client secrets) are never shown."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from accounts import services
from accounts.models import Account, ApiKey, AuditEvent, OAuthClient, User

# django-oauth-toolkit's own admin pages show plain access tokens and let an operator type
# a client secret or switch a client to another grant type, bypassing the services. Clients
# are managed through OAuthClient below instead; tokens end by expiry or client deletion.
for _model in (
    get_application_model(),
    get_access_token_model(),
    get_grant_model(),
    get_id_token_model(),
    get_refresh_token_model(),
):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


class ReadOnlyAdminMixin:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class UserAddForm(AdminUserCreationForm):
    # Django's forms name auth.User and a username field; ours is email-only.
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserAddForm
    list_display = ("email", "is_active", "is_staff", "is_superuser", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("email",)
    ordering = ("email",)
    readonly_fields = ("date_joined", "last_login")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),)


# --- Accounts ---------------------------------------------------------------------------


@admin.action(description="Suspend selected accounts (refuses all their credentials at once)")
def suspend_accounts(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Account]) -> None:
    for account in queryset:
        services.account_suspend(account=account, actor=request.user, reason="Suspended in the admin")  # type: ignore[arg-type]
    modeladmin.message_user(request, f"Suspended {queryset.count()} account(s).", messages.SUCCESS)


@admin.action(description="Reactivate selected accounts")
def reactivate_accounts(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Account]) -> None:
    for account in queryset:
        services.account_reactivate(account=account, actor=request.user)  # type: ignore[arg-type]
    modeladmin.message_user(request, f"Reactivated {queryset.count()} account(s).", messages.SUCCESS)


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ("prefix", "name", "mode", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OAuthClientInline(admin.TabularInline):
    model = OAuthClient
    fields = ("name", "client_id", "mode", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Client ID")
    def client_id(self, obj: OAuthClient) -> str:
        return obj.application.client_id


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display: tuple[str, ...] = ("id", "name", "owner_email", "is_suspended", "suspended_at", "created_at")
    list_display_links = ("id", "name")
    list_filter = ("is_suspended", "created_at")
    search_fields = ("name", "owner__email")
    list_select_related = ("owner",)
    # Suspension goes through the actions (audited, cache invalidated), never a checkbox.
    readonly_fields = ("owner", "is_suspended", "suspended_at", "suspended_by", "suspension_reason", "created_at")
    fields = ("name", *readonly_fields)
    inlines = (ApiKeyInline, OAuthClientInline)
    # billing.admin adds the plan column and the change-plan action (billing builds on
    # accounts, never the other way round).
    actions = [suspend_accounts, reactivate_accounts]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Accounts come from sign-up or `create_api_key`; both create the owner with them.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting would cascade to usage and invoices; suspend instead.
        return False

    @admin.display(description="Owner", ordering="owner__email")
    def owner_email(self, obj: Account) -> str:
        return obj.owner.email



# --- API keys ---------------------------------------------------------------------------


class ApiKeyStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("active", "Active"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> QuerySet[ApiKey]:
        now = timezone.now()
        revoked = Q(revoked_at__isnull=False, revoked_at__lte=now)
        expired = Q(expires_at__isnull=False, expires_at__lte=now)
        if self.value() == "active":
            return queryset.exclude(revoked).exclude(expired)
        if self.value() == "revoked":
            return queryset.filter(revoked)
        if self.value() == "expired":
            return queryset.filter(expired).exclude(revoked)
        return queryset


@admin.action(description="Revoke selected keys now")
def revoke_keys(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
    count = 0
    for api_key in queryset.select_related("account"):
        services.api_key_revoke(api_key=api_key, actor=request.user)  # type: ignore[arg-type]
        count += 1
    modeladmin.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("prefix", "name", "account", "mode", "status", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("mode", ApiKeyStatusFilter, "created_at")
    search_fields = ("prefix", "name", "account__owner__email", "account__name")
    list_select_related = ("account",)
    # Only the digest and the display prefix exist; the full key was shown once to its owner.
    fields = (
        "account", "name", "mode", "prefix", "digest", "created_at", "created_by", "expires_at",
        "revoked_at", "revoked_by", "last_used_at", "replaced_by",
    )
    readonly_fields = fields
    actions = [revoke_keys]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Keep revoked keys for the record; revoke instead.
        return False

    @admin.display(description="Status")
    def status(self, obj: ApiKey) -> str:
        return obj.status


# --- OAuth clients ----------------------------------------------------------------------


@admin.register(OAuthClient)
class OAuthClientAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "client_id", "account", "mode", "created_at")
    list_filter = ("mode", "created_at")
    search_fields = ("name", "application__client_id", "account__owner__email", "account__name")
    list_select_related = ("account", "application")
    # client_id only: the secret is stored hashed and was shown once to its owner.
    fields = ("name", "client_id", "account", "mode", "created_at", "created_by")
    readonly_fields = fields

    @admin.display(description="Client ID", ordering="application__client_id")
    def client_id(self, obj: OAuthClient) -> str:
        return obj.application.client_id

    def delete_model(self, request: HttpRequest, obj: OAuthClient) -> None:
        services.oauth_client_delete(client=obj, actor=request.user)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[OAuthClient]) -> None:
        for client in queryset.select_related("application", "account"):
            services.oauth_client_delete(client=client, actor=request.user)  # type: ignore[arg-type]


# --- Audit ------------------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "action", "target", "account", "actor")
    list_filter = ("action", "created_at")
    search_fields = ("target", "account__name", "account__owner__email", "actor__email")
    list_select_related = ("account", "actor")
    date_hierarchy = "created_at"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
