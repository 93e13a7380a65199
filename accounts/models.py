from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address. Billing belongs to their ``Account``."""

    email = models.EmailField(unique=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ("email",)

    def __str__(self) -> str:
        return self.email


class Account(models.Model):
    """The billing customer. Every credential, usage event and invoice belongs to one."""

    name = models.CharField(max_length=200)
    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="account")
    is_suspended = models.BooleanField(default=False)
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suspension_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return self.name


class CredentialMode(models.TextChoices):
    LIVE = "live", "Live"
    TEST = "test", "Test"


class ApiKey(models.Model):
    """An API key. Only a SHA-256 digest and a display prefix are stored (docs/design.md, credentials)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    mode = models.CharField(max_length=4, choices=CredentialMode.choices, default=CredentialMode.LIVE)
    prefix = models.CharField(max_length=24, help_text="Shown to identify the key; not a secret.")
    # Unique through a constraint, not unique=True: on PostgreSQL that would add a second,
    # varchar_pattern_ops "_like" index (119 MB at 1M keys) that no lookup needs.
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["account", "-created_at"], name="apikey_account_created")]
        constraints = [models.UniqueConstraint(fields=["digest"], name="apikey_digest_unique")]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'})"

    def status_at(self, when: Any) -> str:
        if self.revoked_at is not None and self.revoked_at <= when:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= when:
            return "expired"
        return "active"

    @property
    def status(self) -> str:
        return self.status_at(timezone.now())


class OAuthClient(models.Model):
    """Ties a django-oauth-toolkit Application (client credentials) to an account and a mode."""

    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="wx_client"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="oauth_clients")
    name = models.CharField(max_length=100)
    mode = models.CharField(max_length=4, choices=CredentialMode.choices, default=CredentialMode.LIVE)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = "OAuth client"

    def __str__(self) -> str:
        return self.name


class AuditEvent(models.Model):
    """Who did what to which credential or account, and when. Written by services only."""

    class Action(models.TextChoices):
        KEY_CREATED = "key.created"
        KEY_REVOKED = "key.revoked"
        KEY_ROTATED = "key.rotated"
        CLIENT_CREATED = "client.created"
        CLIENT_SECRET_ROTATED = "client.secret_rotated"  # noqa: S105 - an action name, not a secret
        CLIENT_DELETED = "client.deleted"
        ACCOUNT_SUSPENDED = "account.suspended"
        ACCOUNT_REACTIVATED = "account.reactivated"
        PLAN_CHANGED = "account.plan_changed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=40, choices=Action.choices)
    target = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target}"
