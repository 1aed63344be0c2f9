"""Reads of customer accounts shared by the API and the screens."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db.models import BigIntegerField, Case, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce

from receivables.core import inputs
from receivables.core.errors import NotFound, ReceivablesError
from receivables.customers.models import Customer
from receivables.documents.models import (
    CREDITS,
    RAISING,
    REFUNDABLE,
    Allocation,
    Document,
    DocumentType,
    Status,
)
from receivables.money import decimal_text

STATEMENT_PAGE_SIZE = 100
AGEING_BUCKETS = ("current", "1_30", "31_60", "61_90", "over_90")


def signed_total(prefix: str = "") -> Case:
    """A document's effect on the balance: + raising, − lowering, nothing once cancelled."""
    return Case(
        When(**{f"{prefix}status": Status.CANCELLED}, then=Value(0)),
        When(**{f"{prefix}type__in": list(RAISING)}, then=F(f"{prefix}total_minor")),
        default=-F(f"{prefix}total_minor"),
        output_field=BigIntegerField(),
    )


SIGNED_TOTAL = signed_total()


def get_document(document_id: object, field: str = "id", doc_type: str | None = None) -> Document:
    ident = inputs.identifier(document_id, field)
    documents = Document.objects.select_related("customer")
    if doc_type:
        documents = documents.filter(type=doc_type)
    document = documents.filter(pk=ident).first()
    if document is None:
        raise NotFound(doc_type or "document", document_id, field)
    return document


class StatementDocument(NamedTuple):
    """The columns of a document a statement shows, read as a plain row (no model instance)."""

    pk: int
    date: datetime.date
    type: str
    number: str
    description: str
    method: str
    reason: str
    currency: str
    total_minor: int
    outstanding_minor: int
    status: str


STATEMENT_COLUMNS = ("id", *StatementDocument._fields[1:])


@dataclass
class StatementLine:
    document: StatementDocument
    debit: int | None
    credit: int | None
    balance: int


@dataclass
class Statement:
    customer: Customer
    date_from: datetime.date
    date_to: datetime.date
    opening_balance: int
    closing_balance: int
    lines: list[StatementLine] = field(default_factory=list)
    page: int = 1
    pages: int = 1


def _effect(document: StatementDocument) -> tuple[int | None, int | None]:
    if document.status == Status.CANCELLED:
        return None, None
    if document.type in RAISING:
        return document.total_minor, None
    return None, document.total_minor


def _sum(documents: QuerySet[Document]) -> int:
    return int(documents.aggregate(total=Coalesce(Sum(SIGNED_TOTAL), Value(0)))["total"])


def statement(
    customer: Customer,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    *,
    page: int | None = None,
    page_size: int = STATEMENT_PAGE_SIZE,
) -> Statement:
    """Opening balance, each document with its running balance and O/S, closing balance.

    With ``page`` the lines are one page of the range; the running balance still starts
    from everything before that page, so any page can be read alone.

    Sums run over the short side of each boundary: the customer's stored balance (kept by
    the services, checked by ``ledger verify``) minus what comes after is the same number as
    everything before, without reading a long history. A 100,000-document account reads
    its first and last pages without summing the whole account.
    """
    first_day = date_from or datetime.date(1900, 1, 1)
    last_day = date_to or datetime.date(9999, 12, 31)
    if first_day > last_day:
        raise ReceivablesError("invalid_range", "the start is after the end", "from")
    mine = Document.objects.filter(customer=customer)
    # An open end is no filter at all, so a document dated before 1900 still counts.
    opening = _sum(mine.filter(date__lt=first_day)) if date_from else 0
    in_range = mine.filter(date__gte=first_day) if date_from else mine
    in_range = in_range.filter(date__lte=last_day) if date_to else in_range
    documents = in_range.order_by("date", "id").values_list(*STATEMENT_COLUMNS)
    if page is None:
        lines = _lines(documents, opening)
        closing = lines[-1].balance if lines else opening
        return Statement(customer, first_day, last_day, opening, closing, lines)
    balance = int(Customer.objects.filter(pk=customer.pk).values_list("balance_minor", flat=True)[0])
    closing = balance - _sum(mine.filter(date__gt=last_day)) if date_to else balance
    count = in_range.count()
    pages = max(1, -(-count // page_size))
    page = min(max(page, 1), pages)
    window = _Window(in_range, documents, count, (page - 1) * page_size, page_size)
    lines = _lines(window.rows(), window.running_before(opening, closing))
    return Statement(customer, first_day, last_day, opening, closing, lines, page, pages)


@dataclass(frozen=True)
class _Window:
    """One page of a statement's documents, read from whichever end of the range is nearer.

    An OFFSET of 99,900 walks 99,900 index entries; the same position counted from the end
    walks a hundred.
    """

    in_range: QuerySet[Document]
    documents: QuerySet[Any]
    count: int
    start: int
    size: int

    @property
    def near_start(self) -> bool:
        return self.start <= self.count - self.start

    def rows(self) -> list[tuple]:
        if self.near_start:
            return list(self.documents[self.start : self.start + self.size])
        from_end = self.count - self.start
        return list(self.documents.reverse()[max(from_end - self.size, 0) : from_end])[::-1]

    def running_before(self, opening: int, closing: int) -> int:
        """The balance before the page's first line, summed over the shorter side of it."""
        if not self.start:
            return opening
        if self.near_start:
            boundary = self.documents[self.start - 1 : self.start]
        else:
            boundary = self.documents.reverse()[self.count - self.start :][:1]
        ident, day = boundary[0][0], boundary[0][1]
        # A plain date range with the boundary day's other side excluded: an OR of the two
        # conditions kept SQLite from using the index range once the values are parameters.
        if self.near_start:
            return opening + _sum(self.in_range.filter(date__lte=day).exclude(date=day, id__gt=ident))
        return closing - _sum(self.in_range.filter(date__gte=day).exclude(date=day, id__lte=ident))


def _lines(rows: Iterable[tuple], running: int) -> list[StatementLine]:
    lines = []
    for row in rows:
        document = StatementDocument._make(row)
        debit, credit = _effect(document)
        running += (debit or 0) - (credit or 0)
        lines.append(StatementLine(document, debit, credit, running))
    return lines


def refundables(customer: Customer) -> QuerySet[Document]:
    """Credit notes and payments with something left to refund, oldest first."""
    return Document.objects.filter(
        customer=customer, type__in=list(REFUNDABLE), status=Status.OPEN, outstanding_minor__gt=0
    ).order_by("date", "id")


def outstanding_items(customer: Customer) -> QuerySet[Document]:
    return Document.objects.filter(
        customer=customer, status__in=[Status.OPEN, Status.HOLD], outstanding_minor__gt=0
    ).order_by("date", "id")


def open_debits(customer: Customer) -> QuerySet[Document]:
    return outstanding_items(customer).filter(
        type__in=[DocumentType.INVOICE, DocumentType.DEBIT_MEMO], status=Status.OPEN
    )


def allocations_of(document: Document) -> QuerySet[Allocation]:
    return (
        Allocation.objects.filter(Q(source=document) | Q(target=document))
        .select_related("source", "target")
        .order_by("id")
    )


@dataclass
class Ageing:
    currency: str
    buckets: dict[str, int]
    unapplied_credits: int

    @property
    def total(self) -> int:
        return sum(self.buckets.values())


def bucket_of(days_overdue: int) -> str:
    if days_overdue <= 0:
        return "current"
    if days_overdue <= 30:
        return "1_30"
    if days_overdue <= 60:
        return "31_60"
    if days_overdue <= 90:
        return "61_90"
    return "over_90"


def _bucket_bounds(as_of: datetime.date) -> dict[str, Q]:
    def due_before(days: int) -> datetime.date:
        return as_of - datetime.timedelta(days=days)

    return {
        "current": Q(due_date__gte=as_of),
        "1_30": Q(due_date__lt=as_of, due_date__gte=due_before(30)),
        "31_60": Q(due_date__lt=due_before(30), due_date__gte=due_before(60)),
        "61_90": Q(due_date__lt=due_before(60), due_date__gte=due_before(90)),
        "over_90": Q(due_date__lt=due_before(90)),
    }


def aged_receivables(as_of: datetime.date, customer: Customer | None = None) -> list[Ageing]:
    """Open invoice and debit memo O/S by days past due, per currency, in one query each."""
    debits = Document.objects.filter(
        type__in=[DocumentType.INVOICE, DocumentType.DEBIT_MEMO], status=Status.OPEN, outstanding_minor__gt=0
    )
    credits = Document.objects.filter(type__in=list(CREDITS), status=Status.OPEN, outstanding_minor__gt=0)
    if customer is not None:
        debits = debits.filter(customer=customer)
        credits = credits.filter(customer=customer)
    sums = {
        name: Coalesce(Sum("outstanding_minor", filter=condition), Value(0))
        for name, condition in _bucket_bounds(as_of).items()
    }
    by_currency: dict[str, dict[str, Any]] = {
        row["currency"]: dict(row) for row in debits.values("currency").annotate(**sums)
    }
    unapplied = dict(
        credits.values("currency").annotate(total=Sum("outstanding_minor")).values_list("currency", "total")
    )
    return [
        Ageing(
            currency,
            {name: int(by_currency.get(currency, {}).get(name, 0)) for name in AGEING_BUCKETS},
            int(unapplied.get(currency, 0)),
        )
        for currency in sorted(set(by_currency) | set(unapplied))
    ]


def money(minor: int | None, currency: str) -> str | None:
    return None if minor is None else decimal_text(minor, currency)
