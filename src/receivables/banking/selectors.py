"""Reads that the bank reconciliation API and screens share."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from receivables.banking.models import BankLine, BankStatement, CsvMapping, LinePayment, LineStatus
from receivables.core import rows
from receivables.core.errors import NotFound
from receivables.customers.models import BankAccount
from receivables.documents.models import Document, DocumentType, Status

SEARCHED = 20


def statements() -> QuerySet[BankStatement]:
    counts = {status: Count("lines", filter=Q(lines__status=status)) for status in LineStatus.values}
    return BankStatement.objects.select_related("bank_account").annotate(**counts)


def get_statement(statement_id: int) -> BankStatement:
    found = statements().filter(pk=statement_id).first() if rows.storable(statement_id) else None
    if found is None:
        raise NotFound("bank_statement", statement_id, "id")
    return found


def statement_lines(statement: BankStatement, status: str | None = None) -> QuerySet[BankLine]:
    lines = BankLine.objects.filter(statement=statement).order_by("position", "id")
    return lines.filter(status=status) if status else lines


def get_line(line_id: int) -> BankLine:
    found = BankLine.objects.filter(pk=line_id).first() if rows.storable(line_id) else None
    if found is None:
        raise NotFound("bank_line", line_id, "id")
    return found


def live_payments(line_ids: list[int]) -> dict[int, list[Document]]:
    """The payments each line became and still is, by line id."""
    found: dict[int, list[Document]] = {ident: [] for ident in line_ids}
    links = LinePayment.objects.filter(line_id__in=line_ids, undone_at__isnull=True).select_related("payment")
    for link in links.order_by("id"):
        found[link.line_id].append(link.payment)
    return found


def _open(currency: str) -> QuerySet[Document]:
    return Document.objects.filter(
        currency=currency, status=Status.OPEN, type__in=[DocumentType.INVOICE, DocumentType.DEBIT_MEMO]
    ).select_related("customer")


def open_invoices(currency: str, text: str) -> QuerySet[Document]:
    """Open invoices and debit memos in a currency whose number, or whose customer's name or number, has ``text``."""
    wanted = text.strip()
    found = _open(currency)
    if wanted:
        found = found.filter(
            Q(number__iexact=wanted) | Q(customer__number__iexact=wanted) | Q(customer__name__icontains=wanted)
        )
    return found.order_by("date", "id")[:SEARCHED]


def open_invoice(currency: str, document_id: int) -> Document:
    found = _open(currency).filter(pk=document_id).first() if rows.storable(document_id) else None
    if found is None:
        raise NotFound("invoice", document_id, "pick")
    return found


def csv_mapping(bank: BankAccount) -> dict:
    saved = CsvMapping.objects.filter(bank_account=bank).first()
    return saved.columns if saved else {}


def write_offs(status: str | None = None) -> QuerySet[Document]:
    found = Document.objects.filter(type=DocumentType.WRITE_OFF).select_related("customer", "invoice", "created_by")
    return (found.filter(status=status) if status else found).order_by("-id")
