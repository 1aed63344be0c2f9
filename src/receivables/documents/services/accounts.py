"""What every document write shares: the lock order, the customer's balance, status changes.

Writers lock the customer row first, then the documents they spend (in id order), then the
number sequences, so concurrent writers queue instead of deadlocking.
"""

from __future__ import annotations

from django.db import transaction

from receivables.core import audit, inputs, rows
from receivables.core.errors import Conflict, NotFound, ReceivablesError
from receivables.customers.models import Customer
from receivables.documents.models import RAISING, Document, DocumentType
from receivables.ledger import services as ledger
from receivables.money import LARGEST_MINOR, Money
from receivables.rules import transitions
from receivables.rules.transitions import Lifecycle, TransitionRefused


def lock_customer(customer_id: int, field: str = "customer") -> Customer:
    customer = rows.lock(Customer, [customer_id]).get(customer_id)
    if customer is None:
        raise NotFound("customer", customer_id, field)
    return customer


def lock_documents(*document_ids: int) -> dict[int, Document]:
    return rows.lock(Document, document_ids)


_CUSTOMER_OF = f"SELECT customer_id FROM {Document._meta.db_table} WHERE id = %s"  # noqa: S608


def lock_with_customer(document_id: int, field: str, kind: str = "document") -> tuple[Customer, Document]:
    """Lock a document and its customer, the customer first (the order every writer keeps)."""
    found = None
    if rows.storable(document_id):
        with transaction.get_connection().cursor() as cursor:
            cursor.execute(_CUSTOMER_OF, [document_id])
            found = cursor.fetchone()
    if found is None:
        raise NotFound(kind, document_id, field)
    customer = lock_customer(found[0])
    return customer, lock_documents(document_id)[document_id]


def signed(document: Document) -> int:
    """What the document adds to the customer's balance (a credit takes from it)."""
    return document.total_minor if document.type in RAISING else -document.total_minor


# The balance moves only while it stays within the bound, so an overflow is refused, never stored.
_MOVE_BALANCE = (
    f"UPDATE {Customer._meta.db_table} SET balance_minor = balance_minor + %s "  # noqa: S608
    "WHERE id = %s AND balance_minor + %s BETWEEN %s AND %s"
)


def move_balances(deltas: dict[int, int], instances: list[Customer]) -> None:
    """Add each delta to its customer's balance (one UPDATE each); keep the locked instances in step."""
    currency = {customer.pk: customer.currency for customer in instances}
    with transaction.get_connection().cursor() as cursor:
        for customer_id, delta in deltas.items():
            cursor.execute(_MOVE_BALANCE, [delta, customer_id, delta, -LARGEST_MINOR, LARGEST_MINOR])
            if cursor.rowcount != 1:
                largest = Money(LARGEST_MINOR, currency[customer_id])
                raise ReceivablesError("balance_too_large", f"the customer's balance would pass {largest}", "amount")
    for customer in {id(customer): customer for customer in instances}.values():
        customer.balance_minor += deltas.get(customer.pk, 0)


def move_balance(customer: Customer, delta_minor: int) -> None:
    move_balances({customer.pk: delta_minor}, [customer])


AUDITED_FIELDS = (
    "type",
    "number",
    "customer",
    "date",
    "currency",
    "total_minor",
    "outstanding_minor",
    "status",
    "bank_account",
    "previous_transaction",
    "source",
    "failure_reason",
)


def audited(document: Document) -> dict:
    return audit.snapshot(document, AUDITED_FIELDS)


def lifecycle_of(document: Document) -> Lifecycle:
    return transitions.REFUND if document.type == DocumentType.REFUND else transitions.DOCUMENT


def next_status(document: Document, action: str, field: str = "status") -> str:
    """The status ``action`` leads the document to; a refusal is a 409 with the lifecycle's code."""
    try:
        return lifecycle_of(document).next(document.status, action)
    except TransitionRefused as refused:
        raise Conflict(refused.code, str(refused), field) from None


def change_status(
    document: Document, action: str, *, user: object, comment: str = "", event: str = "", **fields: object
) -> None:
    """Move a locked document through its lifecycle and audit it; ``fields`` change in the same write."""
    status = next_status(document, action)
    before = audited(document)
    Document.objects.filter(pk=document.pk).update(status=status, **fields)
    document.status = status
    for name, value in fields.items():
        setattr(document, name, value)
    action_name = event or f"{document.type}.{status if document.type == DocumentType.REFUND else action}"
    audit.record(action_name, document, before=before, after=audited(document), user=user, comment=comment)


def withdraw(customer: Customer, document: Document, action: str, *, user: object = None, memo: str = "") -> None:
    """Cancel a locked document: kept for the record, counted in no balance, its entries reversed."""
    change_status(document, action, user=user, event=f"{document.type}.cancel")
    move_balance(customer, -signed(document))
    memo = memo or f"{document.number} cancelled"
    for entry in document.journal_entries.filter(reverses__isnull=True, reversed_by__isnull=True):
        ledger.reverse(entry, inputs.date(None), memo)
