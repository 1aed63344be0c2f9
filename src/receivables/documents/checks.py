"""The documents' invariants behind ``receivables ledger verify`` (registered in DocumentsConfig.ready):
the receivable equals the customers' balances, each balance is what its documents add to, every
O/S is its total less its allocations, numbers are gapless, and the audit trail has no gaps.
"""

from __future__ import annotations

from itertools import chain

from django.db.models import BigIntegerField, CharField, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Cast, Coalesce

from receivables.core.checks import Problems
from receivables.core.models import AuditEntry
from receivables.core.numbering import numbering_gaps
from receivables.customers.models import Customer
from receivables.documents.models import CREDITS, Allocation, Document, DocumentType
from receivables.documents.selectors import signed_total
from receivables.ledger.models import Posting
from receivables.rules import posting


def receivable_matches_customers() -> Problems:
    control = dict(
        Posting.objects.filter(account__code=posting.ACCOUNTS_RECEIVABLE)
        .values("currency")
        .annotate(net=Sum(F("debit_minor") - F("credit_minor")))
        .values_list("currency", "net")
    )
    stored = dict(
        Customer.objects.values("currency").annotate(total=Sum("balance_minor")).values_list("currency", "total")
    )
    for currency in sorted(set(control) | set(stored)):
        ledger_total, customer_total = int(control.get(currency) or 0), int(stored.get(currency) or 0)
        if ledger_total != customer_total:
            yield f"accounts receivable in {currency} is {ledger_total} but customer balances add to {customer_total}"


def balances_match_documents() -> Problems:
    """Invariant 5: the stored balance, where every statement ends, is what the documents say."""
    computed = (
        Customer.objects.annotate(
            computed=Coalesce(Sum(signed_total("documents__")), 0, output_field=BigIntegerField())
        )
        .exclude(computed=F("balance_minor"))
        .values_list("number", "balance_minor", "computed")
    )
    for number, stored, from_documents in computed[:50]:
        yield f"customer {number}: balance {stored} but documents add to {from_documents}"


def outstanding_matches_allocations() -> Problems:
    out_of_range = Document.objects.filter(Q(outstanding_minor__lt=0) | Q(outstanding_minor__gt=F("total_minor")))
    for number in out_of_range.values_list("number", flat=True)[:50]:
        yield f"document {number}: outstanding outside 0..total"
    applied_from = dict(
        Allocation.objects.values("source_id").annotate(s=Sum("amount_minor")).values_list("source_id", "s")
    )
    applied_to = dict(
        Allocation.objects.values("target_id").annotate(s=Sum("amount_minor")).values_list("target_id", "s")
    )
    documents = Document.objects.values_list("id", "number", "type", "total_minor", "outstanding_minor")
    reported = 0
    for doc_id, number, doc_type, total, outstanding in documents.iterator(chunk_size=5000):
        applied = applied_from.get(doc_id, 0) if doc_type in CREDITS else applied_to.get(doc_id, 0)
        if outstanding != total - int(applied or 0):
            reported += 1
            yield f"document {number}: outstanding {outstanding} but total − allocations is {total - int(applied or 0)}"
            if reported >= 50:
                return


def numbering_is_gapless() -> Problems:
    documents = Document.objects.values_list("number", flat=True).iterator(chunk_size=10000)
    customers = Customer.objects.values_list("number", flat=True).iterator(chunk_size=10000)
    return numbering_gaps(chain(documents, customers))


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
