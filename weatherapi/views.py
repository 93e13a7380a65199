from __future__ import annotations

import threading
from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from weatherapi.context import request_context
from weatherapi.errors import InternalError, NotFound, is_api_path, problem_response


@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    request_context(request).error_code = "not_found"
    return problem_response(NotFound(f"There is no {request.path_info} in this API."))


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request):
        return problem_response(NotFound())
    return defaults.page_not_found(request, exception)  # type: ignore[arg-type]


def handler500(request: HttpRequest) -> HttpResponse:
    if is_api_path(request):
        return problem_response(InternalError())
    return defaults.server_error(request)


class SchemaView(SpectacularAPIView):
    """``/api/schema/``: the OpenAPI document, built once per process.

    drf-spectacular's view rebuilds the document on every request (a costly walk of every
    view, with no login and no limit: anyone could keep workers busy with it). The document depends only
    on the code, so each process builds it on first use (one build at a time; concurrent
    first requests wait for it) and keeps one rendering per format: YAML or JSON by
    content negotiation, as before. What is no longer honoured, because each would
    multiply the per-process copies by an attacker's choice: ``?lang=`` (the documentation
    is English only), ``?version=`` (the API has one version) and an ``indent`` parameter
    in ``Accept``. The document served is the one ``manage.py spectacular`` writes to
    docs/openapi.yaml (built without a request).
    """

    _lock = threading.Lock()
    _schema: ClassVar[dict[str, Any] | None] = None
    _rendered: ClassVar[dict[type, tuple[bytes, str, str]]] = {}

    @classmethod
    def clear(cls) -> None:
        with cls._lock:
            cls._schema = None
            cls._rendered.clear()

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        renderer = request.accepted_renderer
        cached = self._rendered.get(type(renderer))
        if cached is None:
            with self._lock:
                cached = self._rendered.get(type(renderer))
                if cached is None:
                    cached = self._render(renderer)
                    type(self)._rendered[type(renderer)] = cached
        body, content_type, filename = cached
        return HttpResponse(body, content_type=content_type,
                            headers={"Content-Disposition": f'inline; filename="{filename}"'})

    def _render(self, renderer: BaseRenderer) -> tuple[bytes, str, str]:
        cls = type(self)
        if cls._schema is None:
            generator = self.generator_class(urlconf=self.urlconf, api_version=self.api_version, patterns=self.patterns)
            cls._schema = generator.get_schema(request=None, public=self.serve_public)
        media_type = renderer.media_type
        body = renderer.render(cls._schema, media_type, self.get_renderer_context())
        content_type = f"{media_type}; charset={renderer.charset}" if renderer.charset else media_type
        filename = f"{spectacular_settings.TITLE or 'schema'}.{renderer.format}"
        return (body.encode() if isinstance(body, str) else bytes(body)), content_type, filename
