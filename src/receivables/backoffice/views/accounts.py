"""The customer accounts screen and the forms behind its buttons.

Every write goes through the same services as the API; a refused write re-renders the form
with the service's message beside the input it names, and nothing is saved.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse

from receivables.backoffice import selectors as screens
from receivables.backoffice.views.common import form_errors, page_number, staff_view
from receivables.core import inputs, permissions
from receivables.core.errors import ReceivablesError
from receivables.customers.models import Customer
from receivables.customers.selectors import bank_accounts, get_customer
from receivables.documents import selectors, services
from receivables.documents.models import Document, PaymentMethod

OUTSTANDING_SHOWN = 100
INVOICE_ROWS = 3
LINE_FIELDS = ("description", "quantity", "unit_price", "tax_rate")


def _statement_range(request: HttpRequest) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    dates: dict[str, Any] = {"from": None, "to": None}
    for name in dates:
        if request.GET.get(name):
            try:
                dates[name] = inputs.date(request.GET[name], name)
            except ReceivablesError as error:
                errors[name] = error.detail
    return dates, errors


@staff_view()
def accounts(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = get_customer(customer_id)
    dates, errors = _statement_range(request)
    # Without a page asked for, show the latest page: new documents are what staff look for.
    page = page_number(request) if "page" in request.GET else 10**6
    try:
        statement = selectors.statement(customer, dates["from"], dates["to"], page=page)
    except ReceivablesError as error:
        errors.update(form_errors(error, ("from", "to")))
        statement = selectors.statement(customer, page=page)
    outstanding = list(selectors.outstanding_items(customer)[: OUTSTANDING_SHOWN + 1])
    context = {
        "customer": customer,
        "statement": statement,
        "outstanding": outstanding[:OUTSTANDING_SHOWN],
        "more_outstanding": len(outstanding) > OUTSTANDING_SHOWN,
        "errors": errors,
        "range": {name: request.GET.get(name, "") for name in ("from", "to")},
    }
    return render(request, "backoffice/accounts/accounts.html", context)


def _accounts_url(customer: Customer) -> str:
    return reverse("backoffice:accounts", args=[customer.pk])


def _form_screen(
    request: HttpRequest,
    customer: Customer,
    template: str,
    fields: tuple[str, ...],
    save: Callable[[QueryDict], Document],
    context: dict[str, Any],
) -> HttpResponse:
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            document = save(request.POST)
        except ReceivablesError as error:
            errors = form_errors(error, fields)
        else:
            messages.success(request, f"{document.number} saved.")
            return redirect(_accounts_url(customer))
    values = request.POST if request.method == "POST" else context.pop("initial", {})
    page = {"customer": customer, "errors": errors, "values": values, **context}
    return render(request, template, page)


def _optional_id(post: QueryDict, field: str) -> int | None:
    return inputs.identifier(post[field], field) if post.get(field) else None


def _description(post: QueryDict) -> str:
    return inputs.text(post.get("description"), "description", max_length=200, required=False)


def _banks(customer: Customer) -> list[Any]:
    return list(bank_accounts(customer.currency))


def _default_bank(banks: list[Any]) -> str:
    return next((str(b.pk) for b in banks if b.is_default), "")


@staff_view(permissions.WRITE)
def payment(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = get_customer(customer_id)
    banks = _banks(customer)

    def save(post: QueryDict) -> Document:
        return services.record_payment(
            customer.pk,
            inputs.money(post.get("amount"), customer.currency, "amount"),
            inputs.choice(post.get("method"), "method", PaymentMethod.values),
            bank_account_id=_optional_id(post, "bank_account"),
            date=inputs.date(post.get("date")),
            description=_description(post),
            user=request.user,
        )

    context = {
        "banks": banks,
        "methods": PaymentMethod.choices,
        "initial": {"method": PaymentMethod.BANK_TRANSFER, "bank_account": _default_bank(banks)},
    }
    fields = ("amount", "method", "bank_account", "date", "description")
    return _form_screen(request, customer, "backoffice/accounts/payment.html", fields, save, context)


@staff_view(permissions.WRITE)
def credit_note(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = get_customer(customer_id)

    def save(post: QueryDict) -> Document:
        return services.create_credit_note(
            customer.pk,
            reason=inputs.choice(post.get("reason"), "reason", services.CREDIT_REASONS),
            amount=inputs.money(post.get("amount"), customer.currency, "amount"),
            tax_rate=inputs.tax_rate(post.get("tax_rate") or "0", "tax_rate"),
            invoice_id=_optional_id(post, "invoice"),
            date=inputs.date(post.get("date")),
            description=_description(post),
            user=request.user,
        )

    context = {
        "reasons": services.CREDIT_REASONS,
        "invoices": screens.customer_invoices(customer)[:200],
        "initial": {"reason": "returned_goods", "tax_rate": "0"},
    }
    fields = ("amount", "reason", "tax_rate", "invoice", "date", "description")
    return _form_screen(request, customer, "backoffice/accounts/credit_note.html", fields, save, context)


def _invoice_lines(post: QueryDict) -> list[services.LineInput]:
    """The rows staff filled in; an error names the row as shown on screen (lines[2].quantity)."""
    rows = [(i, {name: post.get(f"lines[{i}].{name}", "") for name in LINE_FIELDS}) for i in range(INVOICE_ROWS)]
    filled = [(i, row) for i, row in rows if any(value.strip() for value in row.values())]
    try:
        return services.parse_lines([row for _, row in filled])
    except ReceivablesError as error:
        match = re.fullmatch(r"lines\[(\d+)\]\.(\w+)", error.field or "")
        if match:
            error.field = f"lines[{filled[int(match.group(1))][0]}].{match.group(2)}"
        elif not filled:
            error.field = "lines[0].description"
        raise


@staff_view(permissions.WRITE)
def invoice(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = get_customer(customer_id)

    def save(post: QueryDict) -> Document:
        return services.create_invoice(
            customer.pk,
            _invoice_lines(post),
            date=inputs.date(post.get("date")),
            description=_description(post),
            user=request.user,
        )

    fields = ("date", "description", *(f"lines[{i}].{name}" for i in range(INVOICE_ROWS) for name in LINE_FIELDS))
    context = {"rows": range(INVOICE_ROWS), "initial": {"lines[0].quantity": "1", "lines[0].tax_rate": "20"}}
    return _form_screen(request, customer, "backoffice/accounts/invoice.html", fields, save, context)
