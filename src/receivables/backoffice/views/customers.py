"""My Customers (search and A–Z) and the customer details page."""

from __future__ import annotations

import string

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from receivables.backoffice import selectors as screens
from receivables.backoffice.views.common import Window, page_number, staff_view, window
from receivables.backoffice.views.subscriptions import subscriptions_of
from receivables.customers.selectors import get_customer, search_customers

PAGE_SIZE = 50
LETTERS = [*string.ascii_uppercase, "#"]


@staff_view()
def customer_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "")[:200]
    initial = request.GET.get("initial", "")[:1].upper()
    if initial and initial not in LETTERS:
        initial = ""
    exact = screens.customer_by_number(search) if search and not initial else None
    if exact is not None:
        page = Window([exact], 1, has_next=False)
    else:
        page = window(search_customers(search, initial), page_number(request), PAGE_SIZE)
    context = {"page": page, "q": search, "initial": initial, "letters": LETTERS}
    return render(request, "backoffice/customers/list.html", context)


@staff_view()
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = get_customer(customer_id)
    context = {"customer": customer, "subscriptions": subscriptions_of(customer)}
    return render(request, "backoffice/customers/detail.html", context)
