"""Writes for customers and bank accounts."""

from __future__ import annotations

import re

from django.db import transaction

from receivables.core import audit, inputs
from receivables.core.errors import NotFound, ReceivablesError
from receivables.core.numbering import format_number, next_number
from receivables.customers.models import BankAccount, Customer
from receivables.ledger.models import Account

CUSTOMER_FIELDS = ("number", "name", "email", "currency", "auto_apply", "credit_limit_minor", "payment_terms_days")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def initial_of(name: str) -> str:
    first = name.strip()[:1].upper()
    return first if "A" <= first <= "Z" else "#"


def _email(value: object) -> str:
    email = inputs.text(value, "email", max_length=254, required=False)
    if email and not _EMAIL.match(email):
        raise ReceivablesError("invalid_email", "is not an email address", "email")
    return email


@transaction.atomic
def create_customer(
    *,
    name: object,
    currency: object,
    email: object = "",
    auto_apply: bool = False,
    credit_limit: object = None,
    payment_terms_days: int = 30,
) -> Customer:
    clean_name = inputs.text(name, "name", max_length=200)
    clean_currency = inputs.currency(currency)
    limit = inputs.money(credit_limit, clean_currency, "credit_limit", allow_zero=True) if credit_limit else None
    if not 0 <= payment_terms_days <= 365:
        raise ReceivablesError("out_of_range", "must be between 0 and 365 days", "payment_terms_days")
    customer = Customer.objects.create(
        number=next_number("customer"),
        name=clean_name,
        initial=initial_of(clean_name),
        email=_email(email),
        currency=clean_currency,
        auto_apply=auto_apply,
        credit_limit_minor=limit.minor if limit else 0,
        payment_terms_days=payment_terms_days,
    )
    audit.record("customer.create", customer, before=None, after=audit.snapshot(customer, CUSTOMER_FIELDS))
    return customer


@transaction.atomic
def update_customer(customer_id: int, *, name: object, email: object, auto_apply: bool) -> Customer:
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise NotFound("customer", customer_id)
    before = audit.snapshot(customer, CUSTOMER_FIELDS)
    customer.name = inputs.text(name, "name", max_length=200)
    customer.initial = initial_of(customer.name)
    customer.email = _email(email)
    customer.auto_apply = auto_apply
    customer.save(update_fields=["name", "initial", "email", "auto_apply"])
    audit.record("customer.update", customer, before=before, after=audit.snapshot(customer, CUSTOMER_FIELDS))
    return customer


@transaction.atomic
def create_bank_account(*, name: object, currency: object, is_default: bool = False) -> BankAccount:
    clean_name = inputs.text(name, "name", max_length=100)
    clean_currency = inputs.currency(currency)
    existing = BankAccount.objects.select_for_update().filter(currency=clean_currency)
    first_in_currency = not existing.exists()
    if is_default and not first_in_currency:
        existing.filter(is_default=True).update(is_default=False)
    ledger_account = Account.objects.create(code=f"pending-{clean_name[:10]}", name=f"Bank: {clean_name}", kind="asset")
    ledger_account.code = format_number("1000-", ledger_account.pk)
    ledger_account.save(update_fields=["code"])
    bank = BankAccount.objects.create(
        name=clean_name,
        currency=clean_currency,
        is_default=is_default or first_in_currency,
        ledger_account=ledger_account,
    )
    audit.record(
        "bank_account.create",
        bank,
        before=None,
        after=audit.snapshot(bank, ("name", "currency", "is_default", "ledger_account")),
    )
    return bank
