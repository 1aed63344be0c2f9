from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from receivables.backoffice import selectors
from receivables.backoffice.views.common import staff_view


@staff_view()
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "backoffice/home.html",
        {"held_count": selectors.held_refund_count(), "overdue_count": selectors.overdue_invoice_count()},
    )
