"""What each staff role may do. Screens and the API both ask ``can(user, capability)``."""

from __future__ import annotations

from typing import Any

from receivables.core.roles import role_of

READ = "read"  # see customers, documents, statements, the ledger and the audit trail
WRITE = "write"  # customers, invoices, payments, credit notes, allocations, refunds, cancellations
EDIT_REFUND = "edit_refund"  # choose a held refund's card transaction
APPROVE = "approve"  # process, retry and cancel refunds; approve or reject them
ADMIN = "admin"  # users, API tokens, plans, bank accounts, settings

CAPABILITIES: dict[str, frozenset[str]] = {
    "viewer": frozenset({READ}),
    "clerk": frozenset({READ, WRITE, EDIT_REFUND}),
    "approver": frozenset({READ, EDIT_REFUND, APPROVE}),
    "admin": frozenset({READ, WRITE, EDIT_REFUND, APPROVE, ADMIN}),
}


def can(user: Any, capability: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    role = role_of(user)
    return role is not None and capability in CAPABILITIES[role]
