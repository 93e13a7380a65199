from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

from weatherapi import health
from weatherapi.views import SchemaView, api_not_found

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
    path("v1/", include("forecasts.urls")),
    path("v1/", include("billing.urls")),
    path("v1/", include("jobs.urls")),
    path("v1/", include("webhooks.urls")),
    # Built once per process (weatherapi.views.SchemaView).
    path("api/schema/", SchemaView.as_view(), name="schema"),
    # Both pages run under the site's Content-Security-Policy, scripts from 'self' only:
    # Swagger UI's start-up script is served by the view itself (?script), not inline, and
    # ReDoc runs its search in a worker it creates from a blob: URL.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", csp_update({"worker-src": ["'self'", "blob:"]})(SpectacularRedocView.as_view(url_name="schema")),
         name="redoc"),
    path("o/", include("accounts.oauth_urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("billing.portal_urls")),
    path("", include("jobs.portal_urls")),
    path("", include("webhooks.portal_urls")),
    # Anything else under the API is a problem document, also with DEBUG on.
    re_path(r"^(?:v1|api)(?:/.*)?$", api_not_found),
]

handler404 = "weatherapi.views.handler404"
handler500 = "weatherapi.views.handler500"
