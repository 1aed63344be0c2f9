"""What every screen shares: login and role checks, refused operations shown beside fields, paging."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from receivables.core import permissions
from receivables.core.errors import ReceivablesError

View = Callable[..., HttpResponse]

# The capability a screen's POST needs, kept on the view so tests can read every screen's rule
# from the URL configuration.
POST_RULE = "post_needs"


def staff_view(post_needs: str | None = None) -> Callable[[View], View]:
    """Login and the right to read required; a POST also needs ``post_needs`` (core.permissions)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not permissions.can(request.user, permissions.READ):
                raise PermissionDenied("your account has no staff role")
            if request.method == "POST" and not permissions.can(request.user, post_needs or permissions.ADMIN):
                raise PermissionDenied("your role may not do this")
            try:
                return view(request, *args, **kwargs)
            except ReceivablesError as error:
                if error.code.endswith("_not_found"):
                    raise Http404(error.detail) from None
                raise

        setattr(wrapped, POST_RULE, post_needs or permissions.ADMIN)
        return login_required(wrapped)

    return decorate


def form_errors(error: ReceivablesError, fields: Iterable[str]) -> dict[str, str]:
    """A refusal shown next to the input it names, or above the form when no input matches.

    The form comes back with status 200, as Django's own forms do: browsers log a 4xx page
    as a console error, and the page itself says what went wrong.
    """
    if error.field and error.field in set(fields):
        return {error.field: error.detail}
    return {"form": str(error)}


def page_number(request: HttpRequest, name: str = "page") -> int:
    try:
        return max(1, min(int(request.GET.get(name, "1")), 10**6))
    except ValueError:
        return 1


@dataclass
class Window:
    """One page of a query without COUNT(*): fetch one row more than shown to know if more follow."""

    items: list[Any]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_number(self) -> int:
        return self.number + 1

    @property
    def previous_number(self) -> int:
        return self.number - 1


def window(queryset: QuerySet, number: int, size: int) -> Window:
    start = (number - 1) * size
    rows = list(queryset[start : start + size + 1])
    return Window(rows[:size], number, len(rows) > size)
