"""Maker–checker for refunds: who counts as the second person, and the decisions they record.

The rule compares people, not logins: the person behind an action is its user, and when it
came through an API token also whoever minted that token (an admin for a service account).
A service account is never a second person; an unidentified caller never is either.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User

from receivables.core import audit, context
from receivables.core.errors import Conflict, ReceivablesError
from receivables.core.models import AuditEntry
from receivables.core.roles import is_service_account
from receivables.documents import services as documents
from receivables.documents.models import Document
from receivables.money import Money
from receivables.refunds.models import Decision, RefundApproval
from receivables.rules import approval, transitions
from receivables.rules.transitions import TransitionRefused

AWAITING = "awaiting"


def needs_approval(refund: Document) -> bool:
    thresholds = approval.parse_thresholds(settings.REFUND_APPROVAL_THRESHOLD)
    return approval.needs_second_person(Money(refund.total_minor, refund.currency), thresholds)


def _people(user_id: int | None, minted_by_id: int | None) -> set[int]:
    return {person for person in (user_id, minted_by_id) if person is not None}


def makers(refund: Document) -> set[int]:
    """The people behind the refund's creation, from its audit record (user and token minter)."""
    created = (
        AuditEntry.objects.filter(object_type="document", object_id=str(refund.pk), action="refund.create")
        .values_list("actor_id", "minted_by_id")
        .first()
    )
    found = _people(*created) if created else set()
    return found | _people(refund.created_by_id, None)


def checker(user: object) -> User:
    """The person acting now, who must be able to count as a second person."""
    staff = audit.person(user)
    if staff is None or is_service_account(staff):
        raise ReceivablesError(
            "approval_required", "a refund above the threshold needs an identified approver, not a service", "status"
        )
    return staff


def _is_second_person(refund: Document, user: User) -> bool:
    minted_by = audit.person(context.current().minted_by)
    return not (_people(user.pk, minted_by.pk if minted_by else None) & makers(refund))


def approval_state(refund: Document) -> str:
    latest = RefundApproval.objects.filter(refund=refund).exclude(user_id__in=makers(refund)).order_by("-id").first()
    return AWAITING if latest is None else latest.decision


def check_second_person(refund: Document, user: object) -> None:
    """Above the threshold the makers may not pay their own refund; processing by another approves it."""
    if not needs_approval(refund) or approval_state(refund) == Decision.APPROVED:
        return
    staff = checker(user)
    if not _is_second_person(refund, staff):
        raise ReceivablesError(
            "approval_required", "another approver must approve or process a refund you created", "status"
        )
    decide(refund, staff, "approve", "approved by processing")


def decider(refund: Document, user: object) -> User:
    """Who may approve or reject: a person other than the refund's makers."""
    staff = audit.person(user)
    if staff is None or is_service_account(staff) or not _is_second_person(refund, staff):
        raise ReceivablesError(
            "self_approval", "a refund is approved or rejected by someone other than its creator", "status"
        )
    return staff


def decide(refund: Document, user: User, action: str, comment: str) -> None:
    """Record a decision on a locked refund through the approval lifecycle, audited with its status."""
    try:
        decision = transitions.APPROVAL.next(approval_state(refund), action)
    except TransitionRefused as refused:
        raise Conflict(refused.code, str(refused), "status") from None
    RefundApproval.objects.create(refund=refund, user=user, decision=decision, comment=comment)
    after = {**documents.audited(refund), "decision": decision}
    audit.record(f"refund.{decision}", refund, before=None, after=after, user=user, comment=comment)
