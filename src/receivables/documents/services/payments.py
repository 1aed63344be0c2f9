"""Money and credit the customer gives: payments, credit notes, and credits held back."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from receivables.core import inputs, rows
from receivables.core.errors import Conflict, NotFound, ReceivablesError
from receivables.customers.models import BankAccount, Customer
from receivables.documents.models import CREDITS, Document, DocumentType, PaymentMethod, Status
from receivables.documents.services.accounts import change_status, lock_customer, lock_with_customer, withdraw
from receivables.documents.services.allocations import apply_credits_of
from receivables.documents.services.issuing import Draft, LineInput, issue, issue_many, line_amounts, memo, store_lines
from receivables.ledger import services as ledger
from receivables.ledger.models import Account
from receivables.money import Money
from receivables.rules import invoicing, posting

CREDIT_REASONS = (
    "returned_goods",
    "overcharge",
    "goodwill",
    "discount",
    "cancellation",
    "damaged",
    "duplicate",
    "other",
)


@dataclass(frozen=True)
class CashAccount:
    """A bank account as posting needs it: its id and its ledger account's code."""

    bank_account_id: int
    currency: str
    ledger_code: str


_CASH_ACCOUNT = (
    f"SELECT bank.id, bank.currency, account.code FROM {BankAccount._meta.db_table} AS bank "  # noqa: S608
    f"JOIN {Account._meta.db_table} AS account ON account.id = bank.ledger_account_id WHERE "
)


def _one_cash_account(condition: str, params: list[object]) -> CashAccount | None:
    # One plain query: the ORM's select_related ... first() costs about a millisecond of Python.
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(_CASH_ACCOUNT + condition, params)
        found = cursor.fetchone()
    return None if found is None else CashAccount(*found)


def find_cash_account(bank_account_id: int | None, currency: str) -> CashAccount | None:
    """The bank account chosen (it must be in ``currency``), else the currency's default one, if any."""
    if bank_account_id is None:
        return _one_cash_account("bank.currency = %s AND bank.is_default", [currency])
    bank = _one_cash_account("bank.id = %s", [bank_account_id]) if rows.storable(bank_account_id) else None
    if bank is None:
        raise NotFound("bank_account", bank_account_id, "bank_account")
    if bank.currency != currency:
        raise ReceivablesError(
            "currency_mismatch", f"the bank account is in {bank.currency}, not {currency}", "bank_account"
        )
    return bank


def _cash_account(customer: Customer, method: str, bank_account_id: int | None) -> CashAccount | None:
    if bank_account_id is None and method == PaymentMethod.CARD:
        return None
    bank = find_cash_account(bank_account_id, customer.currency)
    if bank is None:
        raise ReceivablesError(
            "no_default_bank_account", f"no default bank account in {customer.currency}", "bank_account"
        )
    return bank


def cash_ledger_code(bank: BankAccount | CashAccount | None) -> str:
    """Card money waits in the gateway's clearing account until the payout reaches a bank."""
    if bank is None:
        return posting.CARD_GATEWAY_CLEARING
    return bank.ledger_code if isinstance(bank, CashAccount) else bank.ledger_account.code


@dataclass(frozen=True)
class NewPayment:
    """A payment from a customer the caller has locked; ``fields`` are its other columns."""

    customer: Customer
    amount: Money
    method: str
    date: datetime.date
    bank: CashAccount | None
    fields: dict[str, object] = field(default_factory=dict)


def record_payments(payments: list[NewPayment], *, user: object = None, apply_credits: bool = True) -> list[Document]:
    """Payments of locked customers, in the caller's transaction: a few statements per batch."""
    drafts = [
        Draft(
            payment.customer,
            DocumentType.PAYMENT,
            payment.date,
            payment.amount,
            Money.zero(payment.amount.currency),
            Status.OPEN,
            {
                "method": payment.method,
                "bank_account_id": payment.bank.bank_account_id if payment.bank else None,
                **payment.fields,
            },
        )
        for payment in payments
    ]
    documents = issue_many(drafts, user=user)
    ledger.post_many(
        [
            ledger.NewEntry(
                payment.date,
                memo(document),
                posting.receipt(payment.amount, cash_ledger_code(payment.bank)),
                document.pk,
            )
            for document, payment in zip(documents, payments, strict=True)
        ]
    )
    if apply_credits:
        apply_credits_of(documents, user=user)
    return documents


@transaction.atomic
def record_payment(
    customer_id: int,
    amount: Money,
    method: str,
    *,
    bank_account_id: int | None = None,
    date: datetime.date | None = None,
    description: str = "",
    user: object = None,
    apply_credits: bool = True,
) -> Document:
    inputs.choice(method, "method", PaymentMethod.values)
    customer = lock_customer(customer_id)
    bank = _cash_account(customer, method, bank_account_id)
    day = date or inputs.date(None)
    payment = NewPayment(customer, amount, method, day, bank, {"description": description})
    return record_payments([payment], user=user, apply_credits=apply_credits)[0]


@transaction.atomic
def create_credit_note(
    customer_id: int,
    *,
    reason: str,
    amount: Money | None = None,
    lines: list[LineInput] | None = None,
    tax_rate: Decimal = Decimal(0),
    invoice_id: int | None = None,
    date: datetime.date | None = None,
    description: str = "",
    hold: bool = False,
    user: object = None,
    apply_credits: bool = True,
) -> Document:
    """A credit note given as a gross amount (split at ``tax_rate``) or as lines.

    ``apply_credits=False`` keeps an auto-apply customer's new credit whole, for a caller that
    spends it itself (a cancellation's refund reserves it before anything else can).
    """
    inputs.choice(reason, "reason", CREDIT_REASONS)
    if (amount is None) == (not lines):
        raise ReceivablesError("amount_or_lines", "give either an amount or lines, not both", "amount")
    customer = lock_customer(customer_id)
    invoice = _invoice_of(customer, invoice_id) if invoice_id is not None else None
    day = date or inputs.date(None)
    if amount is not None:
        totals = invoicing.split_gross(amount, tax_rate)
        amounts: list[invoicing.LineAmounts] = []
    else:
        assert lines is not None
        amounts = line_amounts(lines, customer.currency)
        totals = invoicing.document_amounts(amounts, customer.currency)
    credit = issue(
        customer,
        DocumentType.CREDIT_NOTE,
        date=day,
        net=totals.net,
        tax=totals.tax,
        status=Status.HOLD if hold else Status.OPEN,
        user=user,
        reason=reason,
        invoice=invoice,
        description=description,
    )
    if lines:
        store_lines(credit, lines, amounts)
    ledger.post(day, memo(credit), posting.sales_credit(totals.net, totals.tax), credit.pk)
    if apply_credits and not hold:
        apply_credits_of([credit], user=user)
    return credit


def _invoice_of(customer: Customer, invoice_id: int) -> Document:
    invoice = Document.objects.filter(pk=invoice_id, type=DocumentType.INVOICE).first()
    if invoice is None:
        raise NotFound("invoice", invoice_id, "invoice")
    if invoice.customer_id != customer.pk:
        raise ReceivablesError("other_customer", "the invoice belongs to another customer", "invoice")
    return invoice


def _lock_credit(document_id: int) -> tuple[Customer, Document]:
    customer, document = lock_with_customer(document_id, "document")
    if document.type not in CREDITS:
        raise Conflict("not_on_hold", "only a credit document on hold can be released or cancelled", "document")
    return customer, document


@transaction.atomic
def release_credit(document_id: int, *, user: object = None) -> Document:
    customer, document = _lock_credit(document_id)
    change_status(document, "release", user=user)
    apply_credits_of([document], user=user)
    return document


@transaction.atomic
def cancel_held_credit(document_id: int, *, user: object = None) -> Document:
    """A credit on hold that never touched a gateway is withdrawn: kept, counted nowhere."""
    customer, document = _lock_credit(document_id)
    if document.transactions.exists():
        raise Conflict("touched_gateway", "the document has gateway transactions", "document")
    withdraw(customer, document, "withdraw", user=user)
    return document
