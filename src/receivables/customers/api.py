from __future__ import annotations

from typing import Annotated

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from receivables.core.schemas import (
    ERROR_CODES,
    REFUSED,
    AmountOrZero,
    AmountOut,
    Currency,
    Flag,
    PathId,
    StrictIn,
    count,
    patterned,
    text,
)
from receivables.customers import selectors, services
from receivables.customers.models import BankAccount, Customer
from receivables.money import Money

router = Router(tags=["customers"])


# What Django's e-mail validator accepts, and no more: ASCII addresses with a dotted domain (or none).
EMAIL = (
    r"^$|^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,64}(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,64}){0,3}"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,3}[A-Za-z]{2,63}$"
)
Email = Annotated[
    str,
    patterned(
        EMAIL,
        "not_a_string",
        lambda value: ("invalid_email", f"{value[:60]!r} is not an e-mail address"),
        {"maxLength": 254, ERROR_CODES: ["not_a_string", "too_long", "invalid_email"]},
    ),
]


class CustomerIn(StrictIn):
    name: Annotated[str, text(200, example="Alice Brown")]
    currency: Currency
    email: Email = ""
    auto_apply: Flag = False
    credit_limit: AmountOrZero | None = None
    payment_terms_days: Annotated[int, count(0, 365)] = 30


class CustomerOut(Schema):
    id: int
    number: str
    name: str
    email: str
    currency: Currency
    balance: AmountOut
    auto_apply: bool
    credit_limit: AmountOut
    payment_terms_days: int


class CustomerList(Schema):
    items: list[CustomerOut]
    total: int


def customer_out(customer: Customer) -> dict:
    return {
        "id": customer.pk,
        "number": customer.number,
        "name": customer.name,
        "email": customer.email,
        "currency": customer.currency,
        "balance": Money(customer.balance_minor, customer.currency).to_decimal_string(),
        "auto_apply": customer.auto_apply,
        "credit_limit": Money(customer.credit_limit_minor, customer.currency).to_decimal_string(),
        "payment_terms_days": customer.payment_terms_days,
    }


@router.post("/customers", response={201: CustomerOut, **REFUSED})
def create_customer(request: HttpRequest, body: CustomerIn) -> Status:
    customer = services.create_customer(**body.model_dump())
    return Status(201, customer_out(customer))


@router.get("/customers", response={200: CustomerList, **REFUSED})
def list_customers(
    request: HttpRequest,
    search: Annotated[str, text(200, required=False)] = "",
    initial: Annotated[str, text(1, required=False)] = "",
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10**7),
) -> dict:
    customers = selectors.search_customers(search, initial)
    return {"items": [customer_out(c) for c in customers[offset : offset + limit]], "total": customers.count()}


@router.get("/customers/{customer_id}", response={200: CustomerOut, **REFUSED})
def get_customer(request: HttpRequest, customer_id: PathId) -> dict:
    return customer_out(selectors.get_customer(customer_id))


class BankAccountIn(StrictIn):
    name: Annotated[str, text(100, example="Main GBP")]
    currency: Currency
    is_default: Flag = False


class BankAccountOut(Schema):
    id: int
    name: str
    currency: Currency
    is_default: bool
    ledger_account: str


class BankAccountList(Schema):
    items: list[BankAccountOut]


def bank_account_out(account: BankAccount) -> dict:
    return {
        "id": account.pk,
        "name": account.name,
        "currency": account.currency,
        "is_default": account.is_default,
        "ledger_account": account.ledger_account.code,
    }


@router.post("/bank-accounts", response={201: BankAccountOut, **REFUSED})
def create_bank_account(request: HttpRequest, body: BankAccountIn) -> Status:
    return Status(201, bank_account_out(services.create_bank_account(**body.model_dump())))


@router.get("/bank-accounts", response={200: BankAccountList, **REFUSED})
def list_bank_accounts(request: HttpRequest, currency: Currency | None = None) -> dict:
    accounts = selectors.bank_accounts(currency or None).select_related("ledger_account")
    return {"items": [bank_account_out(a) for a in accounts]}
