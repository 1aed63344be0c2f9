"""Reads only the staff screens need (counts for the admin centre, the customer's documents)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from receivables.customers.models import Customer
from receivables.documents.models import Document, DocumentType, Status


def held_refund_count() -> int:
    return Document.objects.filter(type=DocumentType.REFUND, status=Status.HOLD).count()


def overdue_invoice_count() -> int:
    return Document.objects.filter(
        type=DocumentType.INVOICE, status=Status.OPEN, due_date__lt=timezone.localdate()
    ).count()


def customer_document(customer: Customer, document_id: object) -> Document | None:
    try:
        ident = int(str(document_id))
    except ValueError:
        return None
    return Document.objects.filter(customer=customer, pk=ident).first()


def customer_invoices(customer: Customer) -> QuerySet[Document]:
    """Invoices a credit note may name: the most recent first."""
    return Document.objects.filter(customer=customer, type=DocumentType.INVOICE).order_by("-date", "-id")


def customer_by_number(text: str) -> Customer | None:
    """An exact customer number, found through its unique index.

    The general search (name contains, number, email) reads every row when nothing matches
    by name; staff who type a number get the customer straight away.
    """
    number = text.strip().upper()
    if not number or len(number) > 20 or " " in number:
        return None
    return Customer.objects.filter(number=number).first()
