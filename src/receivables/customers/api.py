from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from receivables.core.schemas import ERRORS, Amount, StrictIn
from receivables.customers import selectors, services
from receivables.customers.models import BankAccount, Customer
from receivables.money import Money

router = Router(tags=["customers"])


class CustomerIn(StrictIn):
    name: str = Field(max_length=1000)
    currency: str = Field(max_length=10)
    email: str = Field("", max_length=1000)
    auto_apply: bool = False
    credit_limit: Amount | None = None
    payment_terms_days: int = Field(30, ge=0, le=365)


class CustomerOut(Schema):
    id: int
    number: str
    name: str
    email: str
    currency: str
    balance: str
    auto_apply: bool
    credit_limit: str
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


@router.post("/customers", response={201: CustomerOut, **ERRORS})
def create_customer(request: HttpRequest, body: CustomerIn) -> Status:
    customer = services.create_customer(**body.model_dump())
    return Status(201, customer_out(customer))


@router.get("/customers", response={200: CustomerList, **ERRORS})
def list_customers(
    request: HttpRequest,
    search: str = Query("", max_length=200),
    initial: str = Query("", max_length=1),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10**7),
) -> dict:
    customers = selectors.search_customers(search, initial)
    return {"items": [customer_out(c) for c in customers[offset : offset + limit]], "total": customers.count()}


@router.get("/customers/{customer_id}", response={200: CustomerOut, **ERRORS})
def get_customer(request: HttpRequest, customer_id: int) -> dict:
    return customer_out(selectors.get_customer(customer_id))


class BankAccountIn(StrictIn):
    name: str = Field(max_length=1000)
    currency: str = Field(max_length=10)
    is_default: bool = False


class BankAccountOut(Schema):
    id: int
    name: str
    currency: str
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


@router.post("/bank-accounts", response={201: BankAccountOut, **ERRORS})
def create_bank_account(request: HttpRequest, body: BankAccountIn) -> Status:
    return Status(201, bank_account_out(services.create_bank_account(**body.model_dump())))


@router.get("/bank-accounts", response={200: BankAccountList, **ERRORS})
def list_bank_accounts(request: HttpRequest, currency: str = Query("", max_length=3)) -> dict:
    accounts = selectors.bank_accounts(currency or None).select_related("ledger_account")
    return {"items": [bank_account_out(a) for a in accounts]}
