"""Held refunds: pick the previous e-transaction (Edit → Save), then Refund, or Cancel."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from receivables.backoffice.views.common import staff_view
from receivables.backoffice.views.documents import document_history
from receivables.core import inputs, permissions
from receivables.core.errors import ReceivablesError
from receivables.documents import selectors as documents
from receivables.documents.models import Document, DocumentType, Status
from receivables.gateways import selectors as gateways
from receivables.refunds import approvals, selectors, services


@staff_view()
def held_refunds(request: HttpRequest) -> HttpResponse:
    staff = selectors.approvers()
    rows = []
    for refund in selectors.held_refunds()[:500]:
        second_person = approvals.needs_approval(refund)
        approvers = selectors.approvers_for(refund, staff, second_person=second_person)
        rows.append({"refund": refund, "second_person": second_person, "approvers": approvers})
    return render(request, "backoffice/refunds/held.html", {"rows": rows})


def _refund(refund_id: int) -> Document:
    return documents.get_document(refund_id, "id", DocumentType.REFUND)


@staff_view()
def refund_detail(request: HttpRequest, refund_id: int) -> HttpResponse:
    refund = _refund(refund_id)
    charges = [
        {"etx": etx, "refundable_minor": gateways.refundable_minor(etx)}
        for etx in gateways.customer_transactions(refund.customer).filter(kind="charge", status="succeeded")[:100]
    ]
    context = {
        "refund": refund,
        "charges": charges,
        "editing": request.GET.get("edit") == "1" and refund.status == Status.HOLD,
        "error": request.session.pop("refund_error", None),
        "history": document_history(refund),
        "approvals": list(refund.approvals.select_related("user")),
    }
    return render(request, "backoffice/refunds/detail.html", context)


def _act(request: HttpRequest, refund_id: int, action: Callable[[], Document], done: str) -> HttpResponse:
    """Run one refund action; a refusal is shown on the refund's page, beside the field it names."""
    try:
        refund = action()
    except ReceivablesError as error:
        request.session["refund_error"] = {"field": error.field or "form", "detail": error.detail}
    else:
        if refund.status == Status.FAILED:
            messages.error(request, f"Refund {refund.number} failed: {refund.failure_reason or 'no reason given'}.")
        else:
            messages.success(request, f"Refund {refund.number} {done}; it is now {refund.status}.")
    return redirect("backoffice:refund", refund_id)


@require_POST
@staff_view(permissions.EDIT_REFUND)
def refund_save(request: HttpRequest, refund_id: int) -> HttpResponse:
    def save() -> Document:
        raw = request.POST.get("transaction", "")
        transaction_id = inputs.identifier(raw, "transaction") if raw else None
        return services.set_transaction(_refund(refund_id).pk, transaction_id, user=request.user)

    return _act(request, refund_id, save, "saved")


@require_POST
@staff_view(permissions.APPROVE)
def refund_process(request: HttpRequest, refund_id: int) -> HttpResponse:
    return _act(request, refund_id, lambda: services.process_refund(_refund(refund_id).pk, user=request.user), "sent")


@require_POST
@staff_view(permissions.APPROVE)
def refund_cancel(request: HttpRequest, refund_id: int) -> HttpResponse:
    return _act(
        request, refund_id, lambda: services.cancel_refund(_refund(refund_id).pk, user=request.user), "cancelled"
    )


@require_POST
@staff_view(permissions.APPROVE)
def refund_decide(request: HttpRequest, refund_id: int) -> HttpResponse:
    """Approve or reject with a comment; a rejection cancels the refund and returns its reservation."""
    comment = request.POST.get("comment", "")

    def decide() -> Document:
        refund_pk = _refund(refund_id).pk
        decision = inputs.choice(request.POST.get("decision"), "decision", ("approve", "reject"))
        if decision == "approve":
            return services.approve_refund(refund_pk, user=request.user, comment=comment)
        return services.reject_refund(refund_pk, user=request.user, comment=comment)

    done = {"approve": "approved", "reject": "rejected"}.get(request.POST.get("decision", ""), "decided")
    return _act(request, refund_id, decide, done)
