"""Gaps in the audit trail: a document with no record of its creation, or a refund whose
last recorded status is not the one it has."""

from __future__ import annotations

from django.db.models import CharField, Exists, OuterRef, QuerySet, Subquery
from django.db.models.functions import Cast

from receivables.core.models import AuditEntry
from receivables.documents.models import Document, DocumentType
from receivables.ledger.selectors import Problems


def _entries_of_document() -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(object_type="document", object_id=Cast(OuterRef("pk"), CharField()))


def audit_has_no_gaps() -> Problems:
    unrecorded = Document.objects.annotate(recorded=Exists(_entries_of_document())).filter(recorded=False)
    for number in unrecorded.values_list("number", flat=True)[:50]:
        yield f"document {number} has no audit record of its creation"
    last_status = Subquery(_entries_of_document().order_by("-id").values("after__status")[:1])
    refunds = Document.objects.filter(type=DocumentType.REFUND).annotate(audited_status=last_status)
    for number, status, audited in refunds.values_list("number", "status", "audited_status").iterator(2000):
        if audited != status:
            yield f"refund {number} is {status} but its last audit record says {audited}"
