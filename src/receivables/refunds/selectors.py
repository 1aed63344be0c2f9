"""Reads of refunds for the API and the held-refunds screen."""

from __future__ import annotations

from django.db.models import QuerySet

from receivables.documents.models import Document, DocumentType, Status


def refunds(status: str | None = None) -> QuerySet[Document]:
    found = Document.objects.filter(type=DocumentType.REFUND).select_related(
        "customer", "source", "bank_account", "previous_transaction", "created_by"
    )
    return (found.filter(status=status) if status else found).order_by("-id")


def held_refunds() -> QuerySet[Document]:
    return refunds(Status.HOLD).order_by("date", "id")
