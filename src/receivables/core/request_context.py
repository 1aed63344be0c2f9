"""Tags each request with an id, the client's address and the signed-in user, for the audit trail."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from receivables.core import context

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.headers.get("X-Request-ID", "")
        request_id = offered if _SAFE_ID.match(offered) else context.new_request_id()
        user = getattr(request, "user", None)
        signed_in = user if user is not None and user.is_authenticated else None
        with context.acting(
            user=signed_in,
            via="session" if signed_in else "anonymous",
            request_id=request_id,
            client_address=request.META.get("REMOTE_ADDR", "")[:64],
        ):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
