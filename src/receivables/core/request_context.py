"""Tags each request with an id, the client's address and the signed-in user, for the audit trail."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from receivables.core import context

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def client_address(request: HttpRequest) -> str:
    """The client's address: the one our TLS proxy saw when behind one, else the socket's peer.

    Behind the proxy (``RECEIVABLES_BEHIND_TLS_PROXY=1``) only the last X-Forwarded-For entry is
    trusted: the proxy appends it; anything before it came from the client and may be forged.
    """
    if settings.RECEIVABLES_BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
        if forwarded:
            return forwarded[:64]
    return request.META.get("REMOTE_ADDR", "")[:64]


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
            client_address=client_address(request),
        ):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
