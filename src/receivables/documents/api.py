from __future__ import annotations

import json
from typing import Annotated

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from receivables.core import inputs
from receivables.core.errors import Conflict, ReceivablesError
from receivables.core.idempotency import client_key, idempotent
from receivables.core.schemas import (
    REFUSED,
    Amount,
    AmountOut,
    ClosedSet,
    Currency,
    DateIn,
    DateOut,
    Flag,
    Id,
    PathId,
    Quantity,
    StrictIn,
    TaxRate,
    Timestamp,
    UnitPrice,
    text,
)
from receivables.customers.selectors import get_customer
from receivables.documents import selectors, services
from receivables.documents.models import Allocation, Document, DocumentType, PaymentMethod
from receivables.documents.models import Status as DocumentStatus
from receivables.documents.selectors import money
from receivables.gateways import services as gateways
from receivables.money import Money, decimal_formatter

router = Router(tags=["documents"])

# The closed sets of this area, each from its one source.
DocumentTypeChoice = Annotated[str, ClosedSet("DocumentType", DocumentType.values)]
StatusChoice = Annotated[str, ClosedSet("DocumentStatus", DocumentStatus.values)]
PaymentMethodChoice = Annotated[str, ClosedSet("PaymentMethod", PaymentMethod.values)]
CreditReason = Annotated[str, ClosedSet("CreditReason", services.CREDIT_REASONS)]
DebitReason = Annotated[str, ClosedSet("DebitReason", services.DEBIT_REASONS)]
Description = Annotated[str, text(200, required=False)]


class LineIn(StrictIn):
    description: Annotated[str, text(200, example="Cable")]
    quantity: Quantity
    unit_price: UnitPrice
    tax_rate: TaxRate = "0"


class LineOut(Schema):
    description: str
    quantity: str
    unit_price: str
    tax_rate: str
    net: AmountOut
    tax: AmountOut


class DocumentOut(Schema):
    id: int
    type: DocumentTypeChoice
    number: str
    customer: int
    date: DateOut
    currency: Currency
    amount: AmountOut
    net: AmountOut
    tax: AmountOut
    outstanding: AmountOut
    status: StatusChoice
    reason: str = Field(description="a credit note's CreditReason or a debit memo's DebitReason; empty for others")
    description: str
    method: str = Field(description="a payment's PaymentMethod; empty for other documents")
    due_date: DateOut | None
    bank_account: int | None
    invoice: int | None
    source: int | None
    transaction: int | None
    failure_reason: str
    lines: list[LineOut]


def document_out(document: Document, *, with_lines: bool = True) -> dict:
    currency = document.currency
    lines = list(document.lines.all()) if with_lines else []
    return {
        "id": document.pk,
        "type": document.type,
        "number": document.number,
        "customer": document.customer_id,
        "date": document.date.isoformat(),
        "currency": currency,
        "amount": money(document.total_minor, currency),
        "net": money(document.net_minor, currency),
        "tax": money(document.tax_minor, currency),
        "outstanding": money(document.outstanding_minor, currency),
        "status": document.status,
        "reason": document.reason,
        "description": document.description,
        "method": document.method,
        "due_date": document.due_date.isoformat() if document.due_date else None,
        "bank_account": document.bank_account_id,
        "invoice": document.invoice_id,
        "source": document.source_id,
        "transaction": document.previous_transaction_id,
        "failure_reason": document.failure_reason,
        "lines": [
            {
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "tax_rate": line.tax_rate,
                "net": money(line.net_minor, currency),
                "tax": money(line.tax_minor, currency),
            }
            for line in lines
        ],
    }


def _lines(body_lines: list[LineIn]) -> list[services.LineInput]:
    return services.parse_lines([line.model_dump() for line in body_lines])


class InvoiceIn(StrictIn):
    customer: Id
    date: DateIn | None = None
    description: Description = ""
    lines: list[LineIn] = Field(min_length=1, max_length=500)


@router.post("/invoices", response={201: DocumentOut, **REFUSED})
@idempotent
def create_invoice(request: HttpRequest, body: InvoiceIn) -> Status:
    customer = get_customer(body.customer, "customer")
    invoice = services.create_invoice(
        customer.pk,
        _lines(body.lines),
        date=inputs.date(body.date),
        description=body.description,
        user=request.user,
    )
    return Status(201, document_out(invoice))


class DebitMemoIn(StrictIn):
    customer: Id
    date: DateIn | None = None
    reason: DebitReason = "correction"
    description: Description = ""
    lines: list[LineIn] = Field(min_length=1, max_length=500)


@router.post("/debit-memos", response={201: DocumentOut, **REFUSED})
@idempotent
def create_debit_memo(request: HttpRequest, body: DebitMemoIn) -> Status:
    customer = get_customer(body.customer, "customer")
    memo = services.create_debit_memo(
        customer.pk,
        _lines(body.lines),
        reason=body.reason,
        date=inputs.date(body.date),
        description=body.description,
        user=request.user,
    )
    return Status(201, document_out(memo))


class PaymentIn(StrictIn):
    customer: Id
    amount: Amount
    method: PaymentMethodChoice
    bank_account: Id | None = None
    card_token: Annotated[str, text(100, example="tok_visa")] | None = None
    date: DateIn | None = None
    description: Description = ""


@router.post("/payments", response={201: DocumentOut, **REFUSED})
@idempotent(atomic=lambda body, **_: body.card_token is None)  # a card payment calls the gateway
def record_payment(request: HttpRequest, body: PaymentIn) -> Status:
    customer = get_customer(body.customer, "customer")
    amount = inputs.money(body.amount, customer.currency, "amount")
    if body.card_token is not None:
        return Status(201, document_out(_charge_card(request, customer.pk, amount, body)))
    payment = services.record_payment(
        customer.pk,
        amount,
        body.method,
        bank_account_id=body.bank_account,
        date=inputs.date(body.date),
        description=body.description,
        user=request.user,
    )
    return Status(201, document_out(payment))


def _charge_card(request: HttpRequest, customer_id: int, amount: Money, body: PaymentIn) -> Document:
    """Charge the card token through the gateway; the payment exists only if the charge succeeded."""
    if body.method != "card":
        raise ReceivablesError("card_token_needs_card", 'a card token needs method "card"', "card_token")
    key = client_key(request)
    outcome = gateways.charge(
        customer_id,
        amount,
        inputs.text(body.card_token, "card_token", max_length=100),
        idempotency_key=gateways.derived_key(f"payment-{request.user.pk}", key) if key else None,
        user=request.user,
        date=inputs.date(body.date),
        description=body.description,
    )
    if outcome.payment is not None:
        return outcome.payment
    etx = outcome.transaction
    if etx.status == "declined":
        raise ReceivablesError("card_declined", f"the card was declined ({etx.decline_reason})", "card_token")
    raise Conflict(
        "gateway_outcome_unknown",
        f"the gateway did not answer (e-transaction {etx.pk}); retry with the same Idempotency-Key "
        "or run `receivables gateway reconcile`",
        "card_token",
    )


class CreditNoteIn(StrictIn):
    customer: Id
    reason: CreditReason
    amount: Amount | None = None
    tax_rate: TaxRate = "0"
    lines: list[LineIn] | None = Field(None, min_length=1, max_length=500)
    invoice: Id | None = None
    date: DateIn | None = None
    description: Description = ""
    hold: Flag = False


@router.post("/credit-notes", response={201: DocumentOut, **REFUSED})
@idempotent
def create_credit_note(request: HttpRequest, body: CreditNoteIn) -> Status:
    customer = get_customer(body.customer, "customer")
    amount = inputs.money(body.amount, customer.currency, "amount") if body.amount is not None else None
    credit = services.create_credit_note(
        customer.pk,
        reason=body.reason,
        amount=amount,
        lines=_lines(body.lines) if body.lines else None,
        tax_rate=inputs.tax_rate(body.tax_rate, "tax_rate"),
        invoice_id=body.invoice,
        date=inputs.date(body.date),
        description=body.description,
        hold=body.hold,
        user=request.user,
    )
    return Status(201, document_out(credit))


@router.get("/documents/{document_id}", response={200: DocumentOut, **REFUSED})
def get_document(request: HttpRequest, document_id: PathId) -> dict:
    return document_out(selectors.get_document(document_id))


@router.post("/documents/{document_id}/release", response={200: DocumentOut, **REFUSED})
@idempotent
def release_document(request: HttpRequest, document_id: PathId) -> dict:
    return document_out(services.release_credit(selectors.get_document(document_id).pk, user=request.user))


@router.post("/documents/{document_id}/cancel", response={200: DocumentOut, **REFUSED})
@idempotent
def cancel_held_document(request: HttpRequest, document_id: PathId) -> dict:
    """A credit on hold that never touched a gateway is withdrawn: kept for the record, counted nowhere."""
    return document_out(services.cancel_held_credit(selectors.get_document(document_id).pk, user=request.user))


class AllocationIn(StrictIn):
    source: Id
    target: Id
    amount: Amount | None = None


class AllocationOut(Schema):
    id: int
    source: int
    target: int
    amount: AmountOut
    reversal_of: int | None
    created_at: Timestamp


def allocation_out(allocation: Allocation) -> dict:
    return {
        "id": allocation.pk,
        "source": allocation.source_id,
        "target": allocation.target_id,
        "amount": money(allocation.amount_minor, allocation.source.currency),
        "reversal_of": allocation.reversal_of_id,
        "created_at": allocation.created_at.isoformat(),
    }


@router.post("/allocations", response={201: AllocationOut, **REFUSED})
@idempotent
def create_allocation(request: HttpRequest, body: AllocationIn) -> Status:
    source = selectors.get_document(body.source, "source")
    target = selectors.get_document(body.target, "target")
    amount = inputs.money(body.amount, source.currency, "amount") if body.amount is not None else None
    allocation = services.allocate(source.pk, target.pk, amount, user=request.user)
    return Status(201, allocation_out(allocation))


@router.post("/allocations/{allocation_id}/reverse", response={201: AllocationOut, **REFUSED})
@idempotent
def reverse_allocation(request: HttpRequest, allocation_id: PathId) -> Status:
    return Status(201, allocation_out(services.reverse_allocation(allocation_id, user=request.user)))


class RefundableOut(Schema):
    id: int
    type: DocumentTypeChoice
    number: str
    date: DateOut
    amount: AmountOut
    outstanding: AmountOut
    currency: Currency
    method: str = Field(description="a payment's PaymentMethod; empty for a credit note")


class RefundableList(Schema):
    items: list[RefundableOut]


@router.get("/customers/{customer_id}/refundables", response={200: RefundableList, **REFUSED})
def list_refundables(request: HttpRequest, customer_id: PathId) -> dict:
    customer = get_customer(customer_id)
    return {
        "items": [
            {
                "id": d.pk,
                "type": d.type,
                "number": d.number,
                "date": d.date.isoformat(),
                "amount": money(d.total_minor, d.currency),
                "outstanding": money(d.outstanding_minor, d.currency),
                "currency": d.currency,
                "method": d.method,
            }
            for d in selectors.refundables(customer)
        ]
    }


class StatementLineOut(Schema):
    id: int
    date: DateOut
    type: DocumentTypeChoice
    number: str
    description: str
    debit: AmountOut | None
    credit: AmountOut | None
    balance: AmountOut
    outstanding: AmountOut
    status: StatusChoice


class StatementOut(Schema):
    customer: int
    currency: Currency
    date_from: DateOut
    date_to: DateOut
    opening_balance: AmountOut
    closing_balance: AmountOut
    page: int
    pages: int
    lines: list[StatementLineOut]


# A document without a description is named by its type, with its method or reason.
DESCRIPTIONS: dict[str, str] = {
    DocumentType.INVOICE: "Invoice",
    DocumentType.DEBIT_MEMO: "Debit memo",
    DocumentType.PAYMENT: "Payment ({method})",
    DocumentType.CREDIT_NOTE: "Credit note ({reason})",
    DocumentType.REFUND: "Refund",
    DocumentType.WRITE_OFF: "Write-off ({reason})",
}


def _describe(document: Document | selectors.StatementDocument) -> str:
    if document.description:
        return document.description
    return DESCRIPTIONS[document.type].format(
        method=document.method.replace("_", " "), reason=document.reason.replace("_", " ")
    )


@router.get("/customers/{customer_id}/statement", response={200: StatementOut, **REFUSED})
def get_statement(
    request: HttpRequest,
    customer_id: PathId,
    date_from: DateIn | None = Query(None, alias="from"),
    date_to: DateIn | None = Query(None, alias="to"),
    page: int | None = Query(None, ge=1, le=10**7),
    page_size: int = Query(selectors.STATEMENT_PAGE_SIZE, ge=1, le=1000),
) -> HttpResponse:
    customer = get_customer(customer_id)
    first = inputs.date(date_from, "from") if date_from else None
    last = inputs.date(date_to, "to") if date_to else None
    result = selectors.statement(customer, first, last, page=page, page_size=page_size)
    currency = customer.currency
    text = decimal_formatter(currency)
    body = {
        "customer": customer.pk,
        "currency": currency,
        "date_from": result.date_from.isoformat(),
        "date_to": result.date_to.isoformat(),
        "opening_balance": text(result.opening_balance),
        "closing_balance": text(result.closing_balance),
        "page": result.page,
        "pages": result.pages,
        "lines": [
            {
                "id": line.document.pk,
                "date": line.document.date.isoformat(),
                "type": line.document.type,
                "number": line.document.number,
                "description": _describe(line.document),
                "debit": None if line.debit is None else text(line.debit),
                "credit": None if line.credit is None else text(line.credit),
                "balance": text(line.balance),
                "outstanding": text(line.document.outstanding_minor),
                "status": line.document.status,
            }
            for line in result.lines
        ],
    }
    # A whole year can be tens of thousands of lines: serialised directly, as validating each
    # line against StatementOut again costs more than building it (tests check the shape).
    return HttpResponse(json.dumps(body), content_type="application/json")


class SummaryOut(Schema):
    customer: int
    currency: Currency
    balance: AmountOut
    outstanding_items: list[DocumentOut]


@router.get("/customers/{customer_id}/summary", response={200: SummaryOut, **REFUSED})
def get_account_summary(request: HttpRequest, customer_id: PathId) -> dict:
    customer = get_customer(customer_id)
    items = selectors.outstanding_items(customer)[:500]
    return {
        "customer": customer.pk,
        "currency": customer.currency,
        "balance": money(customer.balance_minor, customer.currency),
        "outstanding_items": [document_out(d, with_lines=False) for d in items],
    }


class AgeingOut(Schema):
    currency: Currency
    current: AmountOut
    days_1_30: AmountOut
    days_31_60: AmountOut
    days_61_90: AmountOut
    over_90: AmountOut
    total: AmountOut
    unapplied_credits: AmountOut


class AgeingList(Schema):
    as_of: DateOut
    items: list[AgeingOut]


def ageing_out(as_of_day: object, rows: list[selectors.Ageing]) -> dict:
    return {
        "as_of": str(as_of_day),
        "items": [
            {
                "currency": row.currency,
                "current": money(row.buckets["current"], row.currency),
                "days_1_30": money(row.buckets["1_30"], row.currency),
                "days_31_60": money(row.buckets["31_60"], row.currency),
                "days_61_90": money(row.buckets["61_90"], row.currency),
                "over_90": money(row.buckets["over_90"], row.currency),
                "total": money(row.total, row.currency),
                "unapplied_credits": money(row.unapplied_credits, row.currency),
            }
            for row in rows
        ],
    }


@router.get("/customers/{customer_id}/aged-receivables", response={200: AgeingList, **REFUSED})
def get_customer_aged_receivables(request: HttpRequest, customer_id: PathId, as_of: DateIn | None = None) -> dict:
    customer = get_customer(customer_id)
    day = inputs.date(as_of, "as_of")
    return ageing_out(day, selectors.aged_receivables(day, customer))


@router.get("/aged-receivables", response={200: AgeingList, **REFUSED})
def get_aged_receivables(request: HttpRequest, as_of: DateIn | None = None) -> dict:
    day = inputs.date(as_of, "as_of")
    return ageing_out(day, selectors.aged_receivables(day))
