"""The one settings module for every environment.

Production is chosen by environment variables (docs/design.md, environment), never by editing this file.
Secrets may also come from files in ``SECRETS_DIR`` (one file a secret, named like the
variable), which is how the Secrets Store CSI driver mounts them; a file wins over the
variable of the same name.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

from weatherapi.scopes import SCOPES

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    secrets_dir = os.environ.get("SECRETS_DIR")
    if secrets_dir:
        path = Path(secrets_dir) / name
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
    value = os.environ.get(name)
    return default if value in (None, "") else value


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = env(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as e:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from e


DEBUG = env_bool("DJANGO_DEBUG", True)
TESTING = "pytest" in sys.modules or env_bool("DJANGO_TESTING", False)

_secret = env("DJANGO_SECRET_KEY")
if not _secret:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG=0. Set it in the environment "
            "or as a file named DJANGO_SECRET_KEY in SECRETS_DIR."
        )
    # Only the embedded development default gets a fixed key; it signs nothing that matters.
    _secret = "insecure-development-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY: str = _secret

ALLOWED_HOSTS = [h.strip() for h in (env("DJANGO_ALLOWED_HOSTS", "") or "").split(",") if h.strip()]
if DEBUG and not ALLOWED_HOSTS:
    ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in (env("DJANGO_CSRF_TRUSTED_ORIGINS", "") or "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django_prometheus",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles: runserver then leaves static files to WhiteNoise as gunicorn does.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "allauth",
    "allauth.account",
    "axes",
    "csp",
    "procrastinate.contrib.django",
    "weatherapi",
    "accounts",
    "webhooks",
    "forecasts",
    "billing",
    "jobs",
]

# Browser-only middleware: the portal, admin, docs and OAuth pages need it; the API (/v1/)
# and the probes run without it (weatherapi/handlers.py).
SITE_ONLY_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "axes.middleware.AxesMiddleware",
]
_METRICS_MIDDLEWARE = ["weatherapi.metrics.PrometheusMiddleware"]
_SHARED_OUTER_MIDDLEWARE = [
    "weatherapi.middleware.RequestIdMiddleware",
    # Inside the request id, outside everything else: logs the final status of every request.
    "weatherapi.access_log.AccessLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
]
_SHARED_INNER_MIDDLEWARE = [
    "weatherapi.middleware.ApiExceptionMiddleware",
    "billing.middleware.MeteringMiddleware",
]
# /static/ and /favicon.ico, answered right after the security headers as WhiteNoise
# documents. Only the site stack has it: no static path is an API path, so /v1/ does not
# pay its lookup.
_STATIC_MIDDLEWARE = ["whitenoise.middleware.WhiteNoiseMiddleware"]
MIDDLEWARE = [
    *_SHARED_OUTER_MIDDLEWARE, *_STATIC_MIDDLEWARE, *_SHARED_INNER_MIDDLEWARE, *SITE_ONLY_MIDDLEWARE,
    *_METRICS_MIDDLEWARE,
]
# The lean stack: the same minus the browser middleware, with fixed API security headers
# instead of the site's CSP and X-Frame-Options.
API_MIDDLEWARE = [
    *_SHARED_OUTER_MIDDLEWARE,
    "weatherapi.middleware.ApiSecurityHeadersMiddleware",
    *_SHARED_INNER_MIDDLEWARE,
    *_METRICS_MIDDLEWARE,
]

ROOT_URLCONF = "weatherapi.urls"
WSGI_APPLICATION = "weatherapi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
if _db["ENGINE"] == "django.db.backends.postgresql":
    _db["ENGINE"] = "django_prometheus.db.backends.postgresql"
    # Fail fast when PostgreSQL is down: a request must not hang on a dead database.
    _db.setdefault("OPTIONS", {}).setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 2))
    if TESTING:
        _db["TEST"] = {"NAME": f"test_{_db['NAME']}_{os.getpid()}"}
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["ENGINE"] = "django_prometheus.db.backends.sqlite3"
    _db["CONN_MAX_AGE"] = 0
    _db.setdefault("OPTIONS", {}).update({"timeout": 20})
    # A file, not memory, so gunicorn started by a test sees the test database; one per
    # test process, so concurrent runs on one machine do not share it.
    (BASE_DIR / "var").mkdir(exist_ok=True)
    _db["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-db-{os.getpid()}.sqlite3")}
DATABASES = {"default": _db}
DATABASE_ROUTERS = ["weatherapi.routers.PostgresqlOnlyAppsRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", "wx"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                # A dead Redis must cost a fraction of a second, not a request timeout
                # (jazzband/django-redis#314).
                "SOCKET_CONNECT_TIMEOUT": 0.25,
                "SOCKET_TIMEOUT": 0.25,
                "IGNORE_EXCEPTIONS": True,
                "CONNECTION_POOL_KWARGS": {"max_connections": 100, "health_check_interval": 30},
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "weatherapi-local",
            "OPTIONS": {"MAX_ENTRIES": 50_000},
        }
    }
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
# The metering store: usage stream, rate and quota counters, plan limits, credential
# versions (weatherapi/redis.py). Unset: the cache's REDIS_URL. In production a durable
# Redis-compatible store (MemoryDB), so no billed event is lost with a cache node.
USAGE_REDIS_URL = env("USAGE_REDIS_URL")
# The metering store is a Redis Cluster (MemoryDB always is): use the cluster client.
USAGE_REDIS_CLUSTER = env_bool("USAGE_REDIS_CLUSTER", False)

CACHE_TTL_CURRENT = env_int("CACHE_TTL_CURRENT", 600)
CACHE_TTL_FORECAST = env_int("CACHE_TTL_FORECAST", 1800)
CACHE_TTL_GEOCODE = env_int("CACHE_TTL_GEOCODE", 86400)
CACHE_TTL_AIR = env_int("CACHE_TTL_AIR", 1800)
CACHE_STALE_SECONDS = env_int("CACHE_STALE_SECONDS", 21600)
# Each process keeps fresh weather entries it has seen, so a popular place costs no Redis
# round trip (forecasts/cache.py). 0 entries turns it off.
CACHE_LOCAL_ENTRIES = env_int("CACHE_LOCAL_ENTRIES", 1024)
CACHE_LOCAL_SECONDS = env_int("CACHE_LOCAL_SECONDS", 60)
CREDENTIAL_CACHE_SECONDS = env_int("CREDENTIAL_CACHE_SECONDS", 3600)
# With Redis: how long a process keeps its own copy of a resolved credential. Every use is
# checked against a version token in the throttle's script (accounts.credentials), so this
# bounds memory, not staleness.
CREDENTIAL_LOCAL_SECONDS = 60

# --- Upstream -------------------------------------------------------------------------
OPENWEATHER_API_KEY = env("OPENWEATHER_API_KEY")
OPENWEATHER_BASE_URL = (env("OPENWEATHER_BASE_URL", "https://api.openweathermap.org") or "").rstrip("/")
OPENWEATHER_CONNECT_TIMEOUT = float(env("OPENWEATHER_CONNECT_TIMEOUT", "2") or 2)
OPENWEATHER_READ_TIMEOUT = float(env("OPENWEATHER_READ_TIMEOUT", "5") or 5)
OPENWEATHER_RETRIES = env_int("OPENWEATHER_RETRIES", 2)
OPENWEATHER_BREAKER_FAIL_MAX = env_int("OPENWEATHER_BREAKER_FAIL_MAX", 5)
OPENWEATHER_BREAKER_RESET_SECONDS = env_int("OPENWEATHER_BREAKER_RESET_SECONDS", 30)
# Upstream calls in flight per process; keep it below gunicorn's threads per worker.
OPENWEATHER_MAX_CONCURRENCY = env_int("OPENWEATHER_MAX_CONCURRENCY", 16)
# Upstream requests a minute (retries included) across every web and job worker, counted in
# the cache's Redis (forecasts/providers/budget.py). 0: no budget.
OPENWEATHER_CALLS_PER_MINUTE = env_int("OPENWEATHER_CALLS_PER_MINUTE", 0)
# How long a waiter blocks on another worker's in-flight fetch of the same cache key.
COALESCE_WAIT_SECONDS = float(env("COALESCE_WAIT_SECONDS", "8") or 8)

# --- Webhooks and callbacks (webhooks/) -----------------------------------------------
# Development and tests only: also deliver to http://127.0.0.1:<port> and http://localhost
# receivers (loopback only, never other private addresses). `check --deploy` refuses it.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
# A failed delivery is retried with exponential backoff (this base, doubled per attempt,
# capped at an hour, jittered) for this long after the first attempt of its series.
WEBHOOK_RETRY_BASE_SECONDS = float(env("WEBHOOK_RETRY_BASE_SECONDS", "10") or 10)
WEBHOOK_RETRY_FOR_SECONDS = env_int("WEBHOOK_RETRY_FOR_SECONDS", 86400)
# One attempt, connection to answer, wall clock.
WEBHOOK_TIMEOUT_SECONDS = float(env("WEBHOOK_TIMEOUT_SECONDS", "5") or 5)

# --- Metrics --------------------------------------------------------------------------
METRICS_TOKEN = env("METRICS_TOKEN")
PROMETHEUS_EXPORT_MIGRATIONS = False

# --- Auth and accounts ----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/portal/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Weather API] "
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
# Signup does the same work for a known and a new email (no timing oracle); a reset goes only
# to a verified address or an account's own sign-up address (accounts/forms.py).
ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm", "reset_password": "accounts.forms.ResetPasswordForm"}
# One email address per user: nobody can park someone else's address on their account as an
# unverified secondary (docs/security.md, API6).
ACCOUNT_MAX_EMAIL_ADDRESSES = 1
# Emails link only to this base, never to the request's Host (accounts/adapter.py). Unset:
# the development server with DJANGO_DEBUG=1, else https:// and the first DJANGO_ALLOWED_HOSTS
# entry (the overlays list the public host first).
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL") or (
    "http://127.0.0.1:8000" if DEBUG else f"https://{ALLOWED_HOSTS[0] if ALLOWED_HOSTS else ''}"
)
_public = urlsplit(PUBLIC_BASE_URL)
if (_public.scheme not in {"http", "https"} or not _public.hostname or _public.hostname[0] in ".*"
        or _public.path.strip("/") or _public.query or _public.fragment):
    raise ImproperlyConfigured(
        f"PUBLIC_BASE_URL must be an origin such as https://api.example.com, got {PUBLIC_BASE_URL!r}: "
        "set it, or list the public host first in DJANGO_ALLOWED_HOSTS."
    )
PUBLIC_BASE_URL = f"{_public.scheme}://{_public.netloc}"

# Client addresses. Behind the ALB, REMOTE_ADDR is the ALB; the client is the entry the
# trusted proxies appended to X-Forwarded-For, counted from the right (1 on EKS: the ALB
# appends the address it saw). Every client-address limit — axes' lockouts and allauth's rate
# limits — keys on accounts.axes.client_ip, which reads this one setting.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT

# allauth's failed-login limit without its per-email part ("5/5m/key" by default), which let
# anyone anywhere lock an owner out: axes locks per (account, client address) instead.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip"}

AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "login"
# allauth passes ``email=`` to authenticate(), not ``login=``; see accounts/axes.py.
AXES_USERNAME_CALLABLE = "accounts.axes.axes_username"
AXES_CLIENT_IP_CALLABLE = "accounts.axes.client_ip"
AXES_LOCKOUT_TEMPLATE = "account/lockout.html"
AXES_ENABLED = env_bool("AXES_ENABLED", True)

OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105 - a model name
OAUTH2_PROVIDER = {
    "SCOPES": dict(SCOPES),
    "DEFAULT_SCOPES": list(SCOPES),
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("OAUTH_TOKEN_EXPIRE_SECONDS", 3600),
    "REFRESH_TOKEN_EXPIRE_SECONDS": 86400,
    "PKCE_REQUIRED": True,
    # RFC 9700 (OAuth 2.0 Security BCP) behaviour, checked by `check --deploy` in DOT 3.4:
    # tokens are stored only as their SHA-256 checksum, bearer tokens only in the header.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "OAUTH2_VALIDATOR_CLASS": "accounts.oauth.ClientCredentialsValidator",
}

# --- Email ----------------------------------------------------------------------------
EMAIL_URL = env("EMAIL_URL")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Weather API <no-reply@weatherapi.example>")
if EMAIL_URL:
    from urllib.parse import unquote, urlparse

    _e = urlparse(EMAIL_URL)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _e.hostname or "localhost"
    EMAIL_PORT = _e.port or 587
    EMAIL_HOST_USER = unquote(_e.username or "")
    EMAIL_HOST_PASSWORD = unquote(_e.password or "")
    EMAIL_USE_TLS = _e.scheme in {"smtp+tls", "submission"}
    EMAIL_USE_SSL = _e.scheme == "smtps"
else:
    EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend") or ""
    if env("EMAIL_FILE_PATH"):
        EMAIL_FILE_PATH = env("EMAIL_FILE_PATH")

# --- DRF and OpenAPI ------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "accounts.authentication.BearerTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["billing.throttles.PlanThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "weatherapi.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
# The schema at /api/schema/ (committed as docs/openapi.yaml; a test fails when it drifts),
# Swagger UI at /api/docs/ and ReDoc at /api/redoc/, all public, assets from the sidecar.
# The guides (weatherapi/guides.md), the response headers and the location forms are added
# by weatherapi.schema.postprocess_schema.
SPECTACULAR_SETTINGS = {
    "TITLE": "Weather API",
    "VERSION": "1.0.0",
    "CONTACT": {"name": "Weather API support", "email": "support@weatherapi.example"},
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PUBLIC": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # validatorUrl None: Swagger UI would otherwise send the schema to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ErrorCode": "weatherapi.api.ERROR_CODES",
        "Units": "forecasts.serializers.UNITS",
        "WebhookEventType": "webhooks.models.EVENT_TYPES",
        "JobStatus": "jobs.serializers.JOB_STATUSES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "weatherapi.schema.postprocess_schema",
    ],
    "TAGS": [
        {"name": "weather", "description": "Current weather and the five-day forecast."},
        {"name": "geocoding", "description": "Places by name and by coordinates."},
        {"name": "air quality", "description": "Air quality index and pollutant concentrations."},
        {"name": "account", "description": "Your plan, quota, usage and invoices."},
        {"name": "webhooks", "description": "Endpoints that receive signed events (Standard Webhooks)."},
    ],
}

# --- Security headers -----------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# The ALB terminates TLS; it is the only thing in front of the pods.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = 0 if DEBUG else env_int("DJANGO_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
# The largest body is a job of 1,000 items (POST /v1/jobs): about 1 KB an item at most.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "script-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
    "EXCLUDE_URL_PREFIXES": ["/admin/"],
}

# --- Static and i18n ------------------------------------------------------------------
# WhiteNoise serves STATIC_ROOT in every configuration (docs/design.md, the request path):
# hashed names cached for a year (immutable), gzip and Brotli copies made by collectstatic,
# which the image runs at build. With DJANGO_DEBUG=1 (make run) names are not hashed and
# files come straight from the apps and static/, so no collectstatic is needed.
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Files browsers ask for at the root whatever the page says (/favicon.ico), short-cached.
WHITENOISE_ROOT = BASE_DIR / "public"
# Source maps are read only by developer tools; compressing them (most of the bytes of
# Swagger UI and ReDoc) would double collectstatic's time for nobody.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "map"]
if TESTING:
    # In-process tests render pages without a collectstatic: plain names, files found in the
    # apps. Tests of the production settings run gunicorn over a collected STATIC_ROOT
    # (tests/support/static.py).
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = True
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Metering and billing -------------------------------------------------------------
USAGE_STREAM_KEY = env("USAGE_STREAM_KEY", "{wx}:usage:events") or "{wx}:usage:events"
USAGE_RETENTION_DAYS = env_int("USAGE_RETENTION_DAYS", 90)
USAGE_WORKER_GROUP = env("USAGE_WORKER_GROUP", "usage-workers") or "usage-workers"
USAGE_WORKER_BATCH = env_int("USAGE_WORKER_BATCH", 1000)
# After a short batch the worker waits this long before reading again, so a steady trickle
# is stored in batches rather than one transaction per event or two.
USAGE_WORKER_LINGER_SECONDS = 0.2
# A stream entry delivered to a consumer that has not acknowledged it for this long is
# taken over by another worker (the first one is presumed dead).
USAGE_RECLAIM_IDLE_SECONDS = env_int("USAGE_RECLAIM_IDLE_SECONDS", 60)
# After a Redis error, skip Redis in this process for this long (fallbacks answer at once).
BILLING_REDIS_RETRY_SECONDS = float(env("BILLING_REDIS_RETRY_SECONDS", "1") or 1)
# Accounts tracked by the per-process fallback limiter (least recently used evicted).
THROTTLE_MEMORY_MAX_KEYS = env_int("THROTTLE_MEMORY_MAX_KEYS", 10_000)
BILLING_CURRENCY = env("BILLING_CURRENCY", "USD") or "USD"

# --- Logging --------------------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", "INFO") or "INFO"
LOG_FORMAT = env("LOG_FORMAT", "json") or "json"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "weatherapi.logging.RequestIdFilter"},
        "redact": {"()": "weatherapi.logging.RedactSecretsFilter"},
        "drop_api_client_errors": {"()": "weatherapi.logging.DropApiClientErrors"},
    },
    "formatters": {
        "json": {
            "()": "weatherapi.logging.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "plain": {
            "()": "weatherapi.logging.PlainFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id", "redact"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces Django's DEFAULT_LOGGING handlers (console with DEBUG, mail_admins): every
        # line goes through the one stdout handler, its filters and formatter.
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        # An API 4xx is already one access line with its error code (weatherapi.access_log).
        "django.request": {"filters": ["drop_api_client_errors"]},
        "django.server": {"level": "WARNING", "propagate": True},
        "urllib3": {"level": "WARNING"},
        "django_redis": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # A line per task loaded and per job fetched; our own task code logs what matters.
        "procrastinate": {"level": "WARNING"},
    },
}

# --- Jobs and their worker (jobs/, docs/design.md) ------------------------------------------
# Tasks one `jobs_worker` process runs at once, each in a thread (items mostly wait on I/O).
JOBS_WORKER_CONCURRENCY = env_int("JOBS_WORKER_CONCURRENCY", 4)
# A worker's heartbeat; a task whose worker has been silent for JOBS_WORKER_STALLED_SECONDS
# (killed, its node lost) is run again by another worker.
JOBS_WORKER_HEARTBEAT_SECONDS = float(env("JOBS_WORKER_HEARTBEAT_SECONDS", "10") or 10)
JOBS_WORKER_STALLED_SECONDS = float(env("JOBS_WORKER_STALLED_SECONDS", "30") or 30)
# Touched every heartbeat while the worker reaches the queue: the liveness probe's file.
JOBS_WORKER_HEARTBEAT_FILE = env("JOBS_WORKER_HEARTBEAT_FILE") or ""
# How often a worker polls the queue besides PostgreSQL's LISTEN/NOTIFY wake-ups.
JOBS_WORKER_POLL_SECONDS = float(env("JOBS_WORKER_POLL_SECONDS", "5") or 5)

# --- Abuse limits (docs/security.md) ----------------------------------------------------
# Credentials an account may hold: API keys that work now or later (a key in its rotation
# grace period counts until it ends) and OAuth clients (accounts/services.py).
MAX_API_KEYS_PER_ACCOUNT = env_int("MAX_API_KEYS_PER_ACCOUNT", 20)
MAX_OAUTH_CLIENTS_PER_ACCOUNT = env_int("MAX_OAUTH_CLIENTS_PER_ACCOUNT", 10)
# Webhook endpoints an account may configure (webhooks/services.py).
MAX_WEBHOOK_ENDPOINTS_PER_ACCOUNT = env_int("MAX_WEBHOOK_ENDPOINTS_PER_ACCOUNT", 10)
# POST /o/token/ (accounts/oauth.py): every request per client address a minute, failed
# client authentications per client id a minute, tokens minted per client an hour (a token
# lasts an hour: 60 lets 60 processes each hold one).
OAUTH_TOKEN_ATTEMPTS_PER_ADDRESS = env_int("OAUTH_TOKEN_ATTEMPTS_PER_ADDRESS", 30)
OAUTH_TOKEN_FAILURES_PER_CLIENT = env_int("OAUTH_TOKEN_FAILURES_PER_CLIENT", 10)
OAUTH_TOKEN_MINTS_PER_CLIENT = env_int("OAUTH_TOKEN_MINTS_PER_CLIENT", 60)
