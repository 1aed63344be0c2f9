"""Issuing documents: numbering, storing, counting in the balance, and invoicing sales.

A batch of documents takes a block of numbers per series and goes in with a few multi-row
statements; a single document is a batch of one of the same code.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from receivables.core import audit, inputs, rows
from receivables.core.errors import ReceivablesError
from receivables.core.numbering import next_numbers
from receivables.customers.models import Customer
from receivables.documents.models import Document, DocumentLine, DocumentType, Status
from receivables.documents.services.accounts import audited, lock_customer, move_balances, signed
from receivables.documents.services.allocations import apply_credits_of
from receivables.ledger import services as ledger
from receivables.money import LARGEST_MINOR, Money
from receivables.rules import invoicing, posting

DEBIT_REASONS = ("correction", "chargeback", "late_fee", "reversed_credit", "other")
MAX_LINES = 500


@dataclass(frozen=True)
class LineInput:
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal


def parse_lines(raw_lines: list[dict], field: str = "lines") -> list[LineInput]:
    """Validate invoice lines given as text; errors name e.g. ``lines[1].unit_price``."""
    if not raw_lines:
        raise ReceivablesError("required", "at least one line is needed", field)
    if len(raw_lines) > MAX_LINES:
        raise ReceivablesError("too_many_lines", f"at most {MAX_LINES} lines", field)
    return [
        LineInput(
            description=inputs.text(line.get("description"), f"{field}[{i}].description", max_length=200),
            quantity=inputs.decimal(
                line.get("quantity"), f"{field}[{i}].quantity", minimum=Decimal("0.0001"), maximum=Decimal(10**9)
            ),
            unit_price=inputs.decimal(
                line.get("unit_price"), f"{field}[{i}].unit_price", minimum=Decimal(0), maximum=Decimal(10**10)
            ),
            tax_rate=inputs.tax_rate(line.get("tax_rate") or "0", f"{field}[{i}].tax_rate"),
        )
        for i, line in enumerate(raw_lines)
    ]


@dataclass(frozen=True)
class Draft:
    """A document about to be issued to a locked customer; ``fields`` are its other columns."""

    customer: Customer
    doc_type: str
    date: datetime.date
    net: Money
    tax: Money
    status: str
    fields: dict[str, object] = field(default_factory=dict)


def _check_amounts(draft: Draft) -> Money:
    if draft.net.currency != draft.customer.currency:
        raise ReceivablesError("currency_mismatch", f"the customer's currency is {draft.customer.currency}", "currency")
    total = draft.net + draft.tax
    if total.minor <= 0:
        raise ReceivablesError("amount_not_positive", "the document's total must be more than zero", "amount")
    if total.minor > LARGEST_MINOR:
        largest = Money(LARGEST_MINOR, total.currency).to_decimal_string()
        raise ReceivablesError("amount_too_large", f"the document's total must be at most {largest}", "amount")
    return total


def _numbers(drafts: list[Draft]) -> dict[str, Iterator[str]]:
    # A block per series in one statement each, series in name order (the same order for every writer).
    wanted = Counter(draft.doc_type for draft in drafts)
    return {series: iter(next_numbers(series, wanted[series])) for series in sorted(wanted)}


def issue_many(drafts: list[Draft], *, user: object = None) -> list[Document]:
    """Number, store, count and audit new documents in a few statements for the whole batch.

    The customers are locked by the caller, in its transaction; the caller posts the entries.
    """
    totals = [_check_amounts(draft) for draft in drafts]
    numbers = _numbers(drafts)
    documents = [
        Document(
            type=draft.doc_type,
            number=next(numbers[draft.doc_type]),
            customer=draft.customer,
            date=draft.date,
            currency=draft.customer.currency,
            net_minor=draft.net.minor,
            tax_minor=draft.tax.minor,
            total_minor=total.minor,
            outstanding_minor=total.minor,
            status=draft.status,
            created_by=audit.person(user),
            **draft.fields,
        )
        for draft, total in zip(drafts, totals, strict=True)
    ]
    rows.insert_many(documents, returning=True)
    _count_in_balances(documents)
    changes = [audit.Change(f"{d.type}.create", d, before=None, after=audited(d)) for d in documents]
    audit.record_many(changes, user=user)
    return documents


def issue(
    customer: Customer,
    doc_type: str,
    *,
    date: datetime.date,
    net: Money,
    tax: Money,
    status: str,
    user: object = None,
    **fields: object,
) -> Document:
    """Number, store and count a new document. The caller posts its journal entry."""
    return issue_many([Draft(customer, doc_type, date, net, tax, status, fields)], user=user)[0]


def _count_in_balances(documents: list[Document]) -> None:
    deltas: dict[int, int] = defaultdict(int)
    for document in documents:
        deltas[document.customer_id] += signed(document)
    move_balances(deltas, [document.customer for document in documents])


def line_amounts(lines: list[LineInput], currency: str) -> list[invoicing.LineAmounts]:
    return [invoicing.line_amounts(line.quantity, line.unit_price, line.tax_rate, currency) for line in lines]


def _lines(document: Document, lines: list[LineInput], amounts: list[invoicing.LineAmounts]) -> list[DocumentLine]:
    return [
        DocumentLine(
            document=document,
            position=position,
            description=line.description,
            quantity=str(line.quantity),
            unit_price=str(line.unit_price),
            tax_rate=str(line.tax_rate),
            net_minor=amount.net.minor,
            tax_minor=amount.tax.minor,
        )
        for position, (line, amount) in enumerate(zip(lines, amounts, strict=True), start=1)
    ]


def store_lines(document: Document, lines: list[LineInput], amounts: list[invoicing.LineAmounts]) -> None:
    rows.insert_many(_lines(document, lines, amounts))


def memo(document: Document) -> str:
    return f"{document.number} {document.customer.number}"


@dataclass(frozen=True)
class Sale:
    """An invoice or debit memo for a customer the caller has locked; ``fields`` are its other columns."""

    customer: Customer
    doc_type: str
    lines: list[LineInput]
    date: datetime.date
    fields: dict[str, object] = field(default_factory=dict)


def invoice_sale(customer: Customer, lines: list[LineInput], day: datetime.date, description: str = "") -> Sale:
    """An invoice falls due after the customer's payment terms."""
    due = day + datetime.timedelta(days=customer.payment_terms_days)
    return Sale(customer, DocumentType.INVOICE, lines, day, {"description": description, "due_date": due})


def create_sales(sales: list[Sale], *, user: object = None) -> list[Document]:
    """Sales documents for locked customers, in the caller's transaction: a few statements per batch.

    An auto-apply customer's open credits settle the new documents at once; the documents
    returned show what is left outstanding.
    """
    amounts = [line_amounts(sale.lines, sale.customer.currency) for sale in sales]
    totals = [
        invoicing.document_amounts(each, sale.customer.currency) for sale, each in zip(sales, amounts, strict=True)
    ]
    drafts = [
        Draft(sale.customer, sale.doc_type, sale.date, total.net, total.tax, Status.OPEN, sale.fields)
        for sale, total in zip(sales, totals, strict=True)
    ]
    documents = issue_many(drafts, user=user)
    sold = list(zip(documents, sales, amounts, totals, strict=True))
    rows.insert_many([line for document, sale, each, _ in sold for line in _lines(document, sale.lines, each)])
    ledger.post_many(
        [
            ledger.NewEntry(sale.date, memo(document), posting.sale(total.net, total.tax), document.pk)
            for document, sale, _, total in sold
        ]
    )
    apply_credits_of(documents, user=user)
    return documents


@transaction.atomic
def create_invoice(
    customer_id: int,
    lines: list[LineInput],
    *,
    date: datetime.date | None = None,
    description: str = "",
    user: object = None,
) -> Document:
    customer = lock_customer(customer_id)
    day = date or inputs.date(None)
    return create_sales([invoice_sale(customer, lines, day, description)], user=user)[0]


@transaction.atomic
def create_debit_memo(
    customer_id: int,
    lines: list[LineInput],
    *,
    reason: str = "correction",
    date: datetime.date | None = None,
    description: str = "",
    user: object = None,
) -> Document:
    inputs.choice(reason, "reason", DEBIT_REASONS)
    customer = lock_customer(customer_id)
    day = date or inputs.date(None)
    fields = {"reason": reason, "description": description, "due_date": day}
    return create_sales([Sale(customer, DocumentType.DEBIT_MEMO, lines, day, fields)], user=user)[0]
