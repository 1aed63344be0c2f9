"""Writes for receivable documents and allocations, split by job.

- ``accounts``: the lock order, the customer's balance, status changes through the lifecycle;
- ``issuing``: numbering and storing documents, invoices and debit memos;
- ``payments``: payments, credit notes, credits on hold;
- ``allocations``: applying credits to debits, reversing, auto-apply.

Each public function that takes ids is one transaction: it locks the customer row first, then
the documents it spends (in id order), then the number sequences, so concurrent writers queue
instead of deadlocking, and it either completes or changes nothing. The names below are the
interface other areas build on.
"""

from receivables.documents.services.accounts import (
    audited,
    change_status,
    lock_customer,
    lock_documents,
    lock_with_customer,
    next_status,
    withdraw,
)
from receivables.documents.services.allocations import (
    all_that_fits,
    allocate,
    apply,
    apply_credits_of,
    check_allocation,
    reverse_allocation,
    undo_allocation,
)
from receivables.documents.services.issuing import (
    DEBIT_REASONS,
    Draft,
    LineInput,
    Sale,
    create_debit_memo,
    create_invoice,
    create_sales,
    invoice_sale,
    issue,
    issue_many,
    parse_lines,
)
from receivables.documents.services.payments import (
    CREDIT_REASONS,
    CashAccount,
    NewPayment,
    cancel_held_credit,
    cash_ledger_code,
    create_credit_note,
    find_cash_account,
    record_payment,
    record_payments,
    release_credit,
)

__all__ = [
    "CREDIT_REASONS",
    "DEBIT_REASONS",
    "CashAccount",
    "Draft",
    "LineInput",
    "NewPayment",
    "Sale",
    "all_that_fits",
    "allocate",
    "apply",
    "apply_credits_of",
    "audited",
    "cancel_held_credit",
    "cash_ledger_code",
    "change_status",
    "check_allocation",
    "create_credit_note",
    "create_debit_memo",
    "create_invoice",
    "create_sales",
    "find_cash_account",
    "invoice_sale",
    "issue",
    "issue_many",
    "lock_customer",
    "lock_documents",
    "lock_with_customer",
    "next_status",
    "parse_lines",
    "record_payment",
    "record_payments",
    "release_credit",
    "reverse_allocation",
    "undo_allocation",
    "withdraw",
]
