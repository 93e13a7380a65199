from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

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
