"""Writes for receivable documents and allocations.

Each public function is one transaction. It locks the customer row first, then the
documents it spends (in id order), then the number sequence, so concurrent writers queue
instead of deadlocking, and it either completes or changes nothing.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from receivables.core import audit, inputs, rows
from receivables.core.errors import Conflict, NotFound, ReceivablesError
from receivables.core.numbering import next_numbers
from receivables.customers.models import BankAccount, Customer
from receivables.documents.models import (
    ALLOCATION_TARGETS,
    CREDITS,
    RAISING,
    Allocation,
    Document,
    DocumentLine,
    DocumentType,
    PaymentMethod,
    Status,
)
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
DEBIT_REASONS = ("correction", "chargeback", "late_fee", "reversed_credit", "other")


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
    if len(raw_lines) > 500:
        raise ReceivablesError("too_many_lines", "at most 500 lines", field)
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


def lock_customer(customer_id: int, field: str = "customer") -> Customer:
    customer = rows.lock(Customer, [customer_id]).get(customer_id)
    if customer is None:
        raise NotFound("customer", customer_id, field)
    return customer


def lock_documents(*document_ids: int) -> dict[int, Document]:
    return rows.lock(Document, document_ids)


_CUSTOMER_OF = f"SELECT customer_id FROM {Document._meta.db_table} WHERE id = %s"  # noqa: S608


def lock_with_customer(document_id: int, field: str, kind: str = "document") -> tuple[Customer, Document]:
    """Lock a document and its customer, the customer first (the order every writer keeps)."""
    found = None
    if rows.storable(document_id):
        with transaction.get_connection().cursor() as cursor:
            cursor.execute(_CUSTOMER_OF, [document_id])
            found = cursor.fetchone()
    if found is None:
        raise NotFound(kind, document_id, field)
    customer = lock_customer(found[0])
    return customer, lock_documents(document_id)[document_id]


def _signed(document: Document) -> int:
    return document.total_minor if document.type in RAISING else -document.total_minor


_MOVE_BALANCE = f"UPDATE {Customer._meta.db_table} SET balance_minor = balance_minor + %s WHERE id = %s"  # noqa: S608


def _move_balance(customer: Customer, delta_minor: int) -> None:
    _add_to_balances({customer.pk: delta_minor})
    customer.balance_minor += delta_minor


def _add_to_balances(deltas: dict[int, int]) -> None:
    """One UPDATE per customer id; the callers keep their customer instances in step."""
    with transaction.get_connection().cursor() as cursor:
        for customer_id, delta in deltas.items():
            cursor.execute(_MOVE_BALANCE, [delta, customer_id])


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
    if total.minor >= 10**15:
        raise ReceivablesError("amount_too_large", "the document's total is too large", "amount")
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
    _move_balances(documents)
    changes = [audit.Change(f"{d.type}.create", d, before=None, after=audited(d)) for d in documents]
    audit.record_many(changes, user=user)
    return documents


def _move_balances(documents: list[Document]) -> None:
    """One UPDATE per customer for the documents' signed totals."""
    deltas: dict[int, int] = defaultdict(int)
    customers: dict[int, Customer] = {}
    for document in documents:
        deltas[document.customer_id] += _signed(document)
        customers.setdefault(id(document.customer), document.customer)
    _add_to_balances(deltas)
    for customer in customers.values():
        customer.balance_minor += deltas[customer.pk]


AUDITED_FIELDS = (
    "type",
    "number",
    "customer",
    "date",
    "currency",
    "total_minor",
    "outstanding_minor",
    "status",
    "bank_account",
    "previous_transaction",
    "source",
    "failure_reason",
)


def audited(document: Document) -> dict:
    return audit.snapshot(document, AUDITED_FIELDS)


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


def _store_lines(document: Document, lines: list[LineInput], amounts: list[invoicing.LineAmounts]) -> None:
    rows.insert_many(_lines(document, lines, amounts))


def _line_amounts(lines: list[LineInput], currency: str) -> list[invoicing.LineAmounts]:
    return [invoicing.line_amounts(line.quantity, line.unit_price, line.tax_rate, currency) for line in lines]


def _memo(document: Document) -> str:
    return f"{document.number} {document.customer.number}"


def _apply_credits_of(customers: Iterable[Customer], *, user: object) -> None:
    """Auto-apply once per auto-apply customer after a batch of their documents."""
    for customer in {customer.pk: customer for customer in customers if customer.auto_apply}.values():
        apply_credits_oldest_first(customer, user=user)


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
    """Sales documents for locked customers, in the caller's transaction: a few statements per batch."""
    amounts = [_line_amounts(sale.lines, sale.customer.currency) for sale in sales]
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
            ledger.NewEntry(sale.date, _memo(document), posting.sale(total.net, total.tax), document.pk)
            for document, sale, _, total in sold
        ]
    )
    _apply_credits_of([sale.customer for sale in sales], user=user)
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
                _memo(document),
                posting.receipt(payment.amount, cash_ledger_code(payment.bank)),
                document.pk,
            )
            for document, payment in zip(documents, payments, strict=True)
        ]
    )
    if apply_credits:
        _apply_credits_of([payment.customer for payment in payments], user=user)
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
) -> Document:
    inputs.choice(reason, "reason", CREDIT_REASONS)
    if (amount is None) == (not lines):
        raise ReceivablesError("amount_or_lines", "give either an amount or lines, not both", "amount")
    customer = lock_customer(customer_id)
    invoice = _invoice_of(customer, invoice_id) if invoice_id is not None else None
    day = date or inputs.date(None)
    if amount is not None:
        totals = invoicing.split_gross(amount, tax_rate)
        line_amounts: list[invoicing.LineAmounts] = []
    else:
        assert lines is not None
        line_amounts = _line_amounts(lines, customer.currency)
        totals = invoicing.document_amounts(line_amounts, customer.currency)
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
        _store_lines(credit, lines, line_amounts)
    ledger.post(day, _memo(credit), posting.sales_credit(totals.net, totals.tax), credit.pk)
    if customer.auto_apply and not hold:
        apply_credits_oldest_first(customer, user=user)
    return credit


def _invoice_of(customer: Customer, invoice_id: int) -> Document:
    invoice = Document.objects.filter(pk=invoice_id, type=DocumentType.INVOICE).first()
    if invoice is None:
        raise NotFound("invoice", invoice_id, "invoice")
    if invoice.customer_id != customer.pk:
        raise ReceivablesError("other_customer", "the invoice belongs to another customer", "invoice")
    return invoice


@transaction.atomic
def release_credit(document_id: int, *, user: object = None) -> Document:
    customer, document = lock_with_customer(document_id, "document")
    if document.type not in CREDITS or document.status != Status.HOLD:
        raise Conflict("not_on_hold", "only a credit document on hold can be released", "document")
    before = audited(document)
    Document.objects.filter(pk=document.pk).update(status=Status.OPEN)
    document.status = Status.OPEN
    audit.record(f"{document.type}.release", document, before=before, after=audited(document), user=user)
    if customer.auto_apply:
        apply_credits_oldest_first(customer, user=user)
    return document


@transaction.atomic
def cancel_held_credit(document_id: int, *, user: object = None) -> Document:
    """A credit on hold that never touched a gateway is withdrawn: kept, counted nowhere."""
    customer, document = lock_with_customer(document_id, "document")
    if document.type not in CREDITS or document.status != Status.HOLD:
        raise Conflict("not_on_hold", "only a credit document on hold can be cancelled", "document")
    if document.transactions.exists():
        raise Conflict("touched_gateway", "the document has gateway transactions", "document")
    withdraw(customer, document, f"{document.number} cancelled", user=user)
    return document


def withdraw(customer: Customer, document: Document, memo: str, *, user: object = None) -> None:
    """Cancel a locked document: kept for the record, counted in no balance, its entries reversed."""
    before = audited(document)
    Document.objects.filter(pk=document.pk).update(status=Status.CANCELLED)
    document.status = Status.CANCELLED
    audit.record(f"{document.type}.cancel", document, before=before, after=audited(document), user=user)
    _move_balance(customer, -_signed(document))
    for entry in document.journal_entries.filter(reverses__isnull=True, reversed_by__isnull=True):
        ledger.reverse(entry, inputs.date(None), memo)


def all_that_fits(source: Document, target: Document) -> Money:
    """The amount an allocation takes when none is given: as much as both documents' O/S allow."""
    return Money(min(source.outstanding_minor, target.outstanding_minor), source.currency)


def check_allocation(source: Document, target: Document, amount: Money) -> None:
    """Refuse an allocation that would break a rule; the codes are part of the API."""
    if source.pk == target.pk:
        raise ReceivablesError("allocation_to_itself", "a document cannot be applied to itself", "target")
    if source.type not in CREDITS:
        raise ReceivablesError("not_a_credit", "the source must be a payment or a credit note", "source")
    if target.type not in ALLOCATION_TARGETS:
        raise ReceivablesError("not_a_debit", "the target must be an invoice or a debit memo", "target")
    if source.customer_id != target.customer_id:
        raise ReceivablesError("other_customer", "both documents must belong to one customer", "target")
    if source.currency != target.currency or amount.currency != source.currency:
        raise ReceivablesError("currency_mismatch", "both documents must share a currency", "target")
    if source.status != Status.OPEN:
        raise Conflict(f"source_{source.status}", f"the source is {source.status}", "source")
    if amount.minor <= 0:
        raise ReceivablesError("amount_not_positive", "must be more than zero", "amount")
    if amount.minor > source.outstanding_minor:
        raise Conflict("exceeds_source_outstanding", "more than the source's outstanding", "amount")
    if amount.minor > target.outstanding_minor:
        raise Conflict("exceeds_target_outstanding", "more than the target's outstanding", "amount")


_SETTLE = f"UPDATE {Document._meta.db_table} SET outstanding_minor = %s, status = %s WHERE id = %s"  # noqa: S608


def _settle(document: Document, applied_minor: int) -> None:
    """Move a document's O/S by ``applied_minor`` and keep its open/closed status right."""
    document.outstanding_minor -= applied_minor
    if document.status in (Status.OPEN, Status.CLOSED):
        document.status = Status.OPEN if document.outstanding_minor > 0 else Status.CLOSED
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(_SETTLE, [document.outstanding_minor, document.status, document.pk])


def apply(
    source: Document, target: Document, amount: Money, *, user: object = None, date: datetime.date | None = None
) -> Allocation:
    """Apply inside the caller's transaction, with both documents already locked.

    Dated ``date`` (a person applying today), else when the later of the two documents took
    effect (an application made as a document is issued), and never before either document.
    """
    day = max(date or source.date, source.date, target.date)
    allocation = rows.insert(
        Allocation(source=source, target=target, amount_minor=amount.minor, date=day, created_by=audit.person(user))
    )
    _settle(source, amount.minor)
    _settle(target, amount.minor)
    audit.record(
        "allocation.create",
        allocation,
        before=None,
        after=_allocation_state(allocation),
        user=user,
        label=f"{source.number} → {target.number}",
    )
    return allocation


def _allocation_state(allocation: Allocation) -> dict:
    return audit.snapshot(allocation, ("source", "target", "amount_minor", "date", "reversal_of"))


@transaction.atomic
def allocate(source_id: int, target_id: int, amount: Money | None = None, *, user: object = None) -> Allocation:
    _, source = lock_with_customer(source_id, "source")
    # Locked after the source's customer: a target of another customer is refused below.
    target = lock_documents(target_id).get(target_id)
    if target is None:
        raise NotFound("document", target_id, "target")
    if target.type == DocumentType.REFUND:
        raise ReceivablesError("not_a_debit", "refunds are funded by creating them", "target")
    if amount is None:
        amount = all_that_fits(source, target)
    check_allocation(source, target, amount)
    return apply(source, target, amount, user=user, date=inputs.date(None))


@transaction.atomic
def reverse_allocation(allocation_id: int, *, user: object = None) -> Allocation:
    allocation = Allocation.objects.filter(pk=allocation_id).select_related("target").first()
    if allocation is None:
        raise NotFound("allocation", allocation_id, "allocation")
    if allocation.target.type == DocumentType.REFUND:
        raise Conflict("refund_allocation", "cancel the refund to return its reservation", "allocation")
    return undo_allocation(allocation, user=user)


def undo_allocation(allocation: Allocation, *, user: object = None) -> Allocation:
    """Reverse inside the caller's transaction (refund cancellation uses this too)."""
    lock_customer(allocation.target.customer_id)
    allocation = Allocation.objects.select_for_update().get(pk=allocation.pk)
    if allocation.reversal_of_id is not None:
        raise Conflict("is_reversal", "a reversal cannot itself be reversed", "allocation")
    if Allocation.objects.filter(reversal_of=allocation).exists():
        raise Conflict("already_reversed", "the allocation is already reversed", "allocation")
    locked = lock_documents(allocation.source_id, allocation.target_id)
    reversal = Allocation.objects.create(
        source_id=allocation.source_id,
        target_id=allocation.target_id,
        amount_minor=-allocation.amount_minor,
        date=max(inputs.date(None), allocation.date),
        reversal_of=allocation,
        created_by=audit.person(user),
    )
    _settle(locked[allocation.source_id], -allocation.amount_minor)
    _settle(locked[allocation.target_id], -allocation.amount_minor)
    audit.record(
        "allocation.reverse",
        allocation,
        before=_allocation_state(allocation),
        after=_allocation_state(reversal),
        user=user,
    )
    return reversal


def apply_credits_oldest_first(customer: Customer, *, user: object = None) -> list[Allocation]:
    """Auto-apply: open credits settle open invoices and debit memos, oldest first."""
    open_documents = (
        Document.objects.select_for_update()
        .filter(
            customer=customer,
            status=Status.OPEN,
            outstanding_minor__gt=0,
        )
        .order_by("date", "id")
    )
    credits = [d for d in open_documents if d.type in CREDITS]
    debits = [d for d in open_documents if d.type in (DocumentType.INVOICE, DocumentType.DEBIT_MEMO)]
    made: list[Allocation] = []
    for credit in credits:
        for debit in debits:
            if credit.outstanding_minor == 0:
                break
            share = min(credit.outstanding_minor, debit.outstanding_minor)
            if share:
                made.append(apply(credit, debit, Money(share, customer.currency), user=user))
    return made
