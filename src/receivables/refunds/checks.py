"""A refund marked refunded had its money sent: by transfer from a bank account, or by a
gateway refund that succeeded for its whole amount."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from receivables.core.checks import Problems
from receivables.documents.models import Document, DocumentType, Status
from receivables.gateways.models import ETransaction, TransactionKind, TransactionStatus


def refunds_were_paid() -> Problems:
    sent = ETransaction.objects.filter(
        document=OuterRef("pk"),
        kind=TransactionKind.REFUND,
        status=TransactionStatus.SUCCEEDED,
        amount_minor=OuterRef("total_minor"),
    )
    refunded = Document.objects.filter(type=DocumentType.REFUND, status=Status.REFUNDED).annotate(sent=Exists(sent))
    by_card = refunded.filter(previous_transaction__isnull=False, sent=False)
    for number in by_card.values_list("number", flat=True)[:50]:
        yield f"card refund {number} is refunded but no gateway refund of its amount succeeded"
    by_transfer = refunded.filter(previous_transaction__isnull=True).filter(
        Q(bank_account__isnull=True) | Q(standalone=True)
    )
    for number in by_transfer.values_list("number", flat=True)[:50]:
        yield f"refund {number} is refunded with neither a card refund nor a bank account to pay it from"
