"""Reads of customers and bank accounts shared by the API and the screens."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from receivables.core import inputs
from receivables.core.errors import NotFound
from receivables.customers.models import BankAccount, Customer


def get_customer(customer_id: object, field: str | None = None) -> Customer:
    customer = Customer.objects.filter(pk=inputs.identifier(customer_id, field or "customer")).first()
    if customer is None:
        raise NotFound("customer", customer_id, field)
    return customer


def search_customers(search: str = "", initial: str = "") -> QuerySet[Customer]:
    """Customers by text (name, number, email) and by the first letter of the name."""
    customers = Customer.objects.all()
    if initial:
        letter = initial.strip()[:1].upper()
        customers = customers.filter(initial=letter if "A" <= letter <= "Z" else "#")
    text = search.strip()
    if text:
        customers = customers.filter(Q(name__icontains=text) | Q(number__iexact=text) | Q(email__istartswith=text))
    return customers.order_by("name", "id")


def get_bank_account(bank_account_id: object, field: str = "bank_account") -> BankAccount:
    account = BankAccount.objects.filter(pk=inputs.identifier(bank_account_id, field)).first()
    if account is None:
        raise NotFound("bank_account", bank_account_id, field)
    return account


def bank_accounts(currency: str | None = None) -> QuerySet[BankAccount]:
    accounts = BankAccount.objects.all()
    return accounts.filter(currency=currency) if currency else accounts
