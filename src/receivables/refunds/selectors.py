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


def approvers_for(refund: Document) -> list[str]:
    """Who may approve or process this refund: approvers and admins other than its creator."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name__in=["approver", "admin"]))
    )
    if refund.created_by_id is not None:
        users = users.exclude(pk=refund.created_by_id)
    return sorted(set(users.values_list("username", flat=True)))
