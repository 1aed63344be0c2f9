"""Allocate: apply a payment or credit note to an outstanding invoice, after a confirmation step."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render

from receivables.backoffice import selectors as screens
from receivables.backoffice.templatetags.money import format_money
from receivables.backoffice.views.common import form_errors, staff_view
from receivables.core import inputs, permissions
from receivables.core.errors import ReceivablesError
from receivables.customers.models import Customer
from receivables.customers.selectors import get_customer
from receivables.documents import selectors, services
from receivables.documents.models import Document
from receivables.money import Money

FIELDS = ("source", "target", "amount")
SHOWN = 200


def chosen(customer: Customer, post: QueryDict, field: str, what: str) -> Document:
    document = screens.customer_document(customer, post.get(field, "")) if post.get(field) else None
    if document is None:
        raise ReceivablesError("required", f"choose {what}", field)
    return document


def _choice(customer: Customer, post: QueryDict) -> tuple[Document, Document, Money]:
    source = chosen(customer, post, "source", "a payment or credit note")
    target = chosen(customer, post, "target", "an invoice")
    text = post.get("amount", "").strip()
    if post.get("full") or not text:
        amount = Money(min(source.outstanding_minor, target.outstanding_minor), source.currency)
    else:
        amount = inputs.money(text, source.currency, "amount")
    services.check_allocation(source, target, amount)
    return source, target, amount


@staff_view(permissions.WRITE)
def allocate(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = get_customer(customer_id)
    errors: dict[str, str] = {}
    answer = request.POST.get("answer")
    if request.method == "POST":
        if answer == "no":
            messages.info(request, "Nothing was allocated.")
            return redirect("backoffice:accounts", customer.pk)
        try:
            source, target, amount = _choice(customer, request.POST)
            if answer == "yes":
                services.allocate(source.pk, target.pk, amount, user=request.user)
                messages.success(
                    request, f"Applied {format_money(amount.minor, amount.currency)} of {source} to {target}."
                )
                return redirect("backoffice:accounts", customer.pk)
            context = {"customer": customer, "source": source, "target": target, "amount": amount}
            return render(request, "backoffice/accounts/allocate_confirm.html", context)
        except ReceivablesError as error:
            errors = form_errors(error, FIELDS)
    context = {
        "customer": customer,
        "credits": selectors.refundables(customer)[:SHOWN],
        "debits": selectors.open_debits(customer)[:SHOWN],
        "errors": errors,
        "values": request.POST,
    }
    return render(request, "backoffice/accounts/allocate.html", context)
