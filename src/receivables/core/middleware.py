"""The staff screens answer 503 with a clear page, not a 500, while the database is away.

The API has its own handler (``api.on_unexpected``); this covers everything else. Two places can
meet a lost database: a view (``process_exception``), and the first look at ``request.user``,
which loads the session from the database. Later middleware reads the user outside any view,
where ``process_exception`` never sees the error, so this middleware (placed right after
``AuthenticationMiddleware``) reads it first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = "5"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Temporarily unavailable</title></head>
<body><h1>Temporarily unavailable</h1>
<p>The database is unavailable. Nothing was saved; please try again in a moment.</p></body></html>
"""


def unavailable(error: Exception) -> HttpResponse:
    logger.warning("database unavailable: %s", error)
    response = HttpResponse(PAGE, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = RETRY_AFTER_SECONDS
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            user = getattr(request, "user", None)
            if user is not None:
                user.is_authenticated  # noqa: B018 - loads the session (and the user) here, where errors are caught
        except UNAVAILABLE as error:
            return unavailable(error)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, UNAVAILABLE):
            return unavailable(exception)
        return None


API_PREFIX = "/api/v1/"


class ApiAnswersInJsonMiddleware:
    """Under /api/v1/ every answer is the API's JSON error format, also for a path no route has
    (Django's 404 page) and a method a route does not take (a plain 405, its Allow header kept)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or response.status_code not in (404, 405):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        if response.status_code == 404:
            return _error(404, "not_found", f"no API route at {request.path}")
        allowed = response.get("Allow", "")
        answer = _error(405, "method_not_allowed", f"{request.method} is not allowed here; allowed: {allowed}")
        answer["Allow"] = allowed
        return answer


def _error(status: int, code: str, detail: str) -> HttpResponse:
    return JsonResponse({"error": code, "detail": detail, "field": None}, status=status)
