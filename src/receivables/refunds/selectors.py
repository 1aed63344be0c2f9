"""Reads of refunds for the API and the held-refunds screen."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from receivables.documents.models import Document, DocumentType, Status


def refunds(status: str | None = None) -> QuerySet[Document]:
    found = Document.objects.filter(type=DocumentType.REFUND).select_related(
        "customer", "source", "bank_account", "previous_transaction", "created_by"
    )
    return (found.filter(status=status) if status else found).order_by("-id")


def held_refunds() -> QuerySet[Document]:
    return refunds(Status.HOLD).order_by("date", "id")


def approvers() -> list[tuple[int, str]]:
    """(id, username) of every active approver and admin, by name."""
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name__in=["approver", "admin"]))
        .distinct()
    )
    return sorted(users.values_list("pk", "username"), key=lambda user: user[1])


def approvers_for(refund: Document, staff: list[tuple[int, str]], *, second_person: bool) -> list[str]:
    """Who may process this refund: approvers and admins, but not its creator when it needs a second person."""
    creator = refund.created_by_id if second_person else None
    return [name for pk, name in staff if pk != creator]
