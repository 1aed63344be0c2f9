"""Refund O/S: refund an outstanding credit note or payment from a bank account, after "Create a new refund?"."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render

from receivables.backoffice.templatetags.money import format_money
from receivables.backoffice.views.allocate import chosen
from receivables.backoffice.views.common import form_errors, staff_view
from receivables.core import inputs, permissions
from receivables.core.errors import ReceivablesError
from receivables.customers.models import BankAccount, Customer
from receivables.customers.selectors import bank_accounts, get_bank_account, get_customer
from receivables.documents import selectors
from receivables.documents.models import REFUNDABLE, Document, Status
from receivables.money import Money
from receivables.refunds import services as refunds

FIELDS = ("source", "bank_account", "amount")


def _choice(customer: Customer, post: QueryDict) -> tuple[Document, BankAccount, Money]:
    """Check what staff chose before asking them to confirm; the service checks again on Yes."""
    source = chosen(customer, post, "source", "a credit note or payment to refund")
    if source.type not in REFUNDABLE or source.status != Status.OPEN or source.outstanding_minor <= 0:
        raise ReceivablesError("not_refundable", f"{source.number} has nothing left to refund", "source")
    if not post.get("bank_account"):
        raise ReceivablesError("required", "choose the bank account the money leaves from", "bank_account")
    bank = get_bank_account(post["bank_account"], "bank_account")
    if bank.currency != source.currency:
        raise ReceivablesError("currency_mismatch", f"choose a bank account in {source.currency}", "bank_account")
    text = post.get("amount", "").strip()
    amount = inputs.money(text, source.currency, "amount") if text else Money(source.outstanding_minor, source.currency)
    if amount.minor > source.outstanding_minor:
        limit = format_money(source.outstanding_minor, source.currency)
        raise ReceivablesError("refund_exceeds_outstanding", f"must not be more than the O/S of {limit}", "amount")
    return source, bank, amount


def _create(source: Document, bank: BankAccount, amount: Money, user: object) -> Document:
    return refunds.create_refund(source.pk, amount=amount, bank_account_id=bank.pk, user=user)


@staff_view(permissions.WRITE)
def refund_os(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = get_customer(customer_id)
    errors: dict[str, str] = {}
    answer = request.POST.get("answer")
    if request.method == "POST":
        if answer == "no":
            messages.info(request, "No refund was created.")
            return redirect("backoffice:accounts", customer.pk)
        try:
            source, bank, amount = _choice(customer, request.POST)
            if answer == "yes":
                refund = _create(source, bank, amount, request.user)
                messages.success(
                    request, f"Refund {refund.number} for {format_money(amount.minor, amount.currency)} created."
                )
                return redirect("backoffice:accounts", customer.pk)
            context = {"customer": customer, "source": source, "bank": bank, "amount": amount}
            return render(request, "backoffice/refunds/confirm.html", context)
        except ReceivablesError as error:
            errors = form_errors(error, FIELDS)
    banks = list(bank_accounts(customer.currency))
    default = next((str(b.pk) for b in banks if b.is_default), "")
    context = {
        "customer": customer,
        "refundables": selectors.refundables(customer)[:200],
        "banks": banks,
        "errors": errors,
        "values": request.POST if request.method == "POST" else {"bank_account": default},
    }
    return render(request, "backoffice/refunds/refund_os.html", context)
