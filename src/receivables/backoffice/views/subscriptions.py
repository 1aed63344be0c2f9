"""Subscriptions per customer, the plans, and the Cancel wizard with a live quote (htmx)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render

from receivables.backoffice.views.common import form_errors, staff_view
from receivables.core import inputs, permissions
from receivables.core.errors import ReceivablesError
from receivables.customers.models import Customer
from receivables.rules.refund_policy import POLICY_CHOICES
from receivables.subscriptions import selectors, services
from receivables.subscriptions.models import Order, Subscription

FIELDS = ("refund_policy", "give_back", "at", "reason", "comment")
POLICY_LABELS = {
    "plan": "The plan's policy",
    "full": "Full refund",
    "prorated": "Prorated recurring fee",
    "none": "No refund",
}
GIVE_BACK_LABELS = {"refund": "Refund to the customer's card", "credit": "Keep as credit on the account"}


def subscriptions_of(customer: Customer) -> list[Subscription]:
    return list(selectors.customer_subscriptions(customer)[:100])


@staff_view()
def subscription_list(request: HttpRequest) -> HttpResponse:
    found = Subscription.objects.select_related("customer", "plan_period__plan").order_by("-id")
    status = request.GET.get("status", "")
    if status:
        found = found.filter(status=status)
    return render(request, "backoffice/subscriptions/list.html", {"subscriptions": found[:200], "status": status})


@staff_view()
def plans(request: HttpRequest) -> HttpResponse:
    return render(request, "backoffice/subscriptions/plans.html", {"plans": selectors.plans()})


def _wizard(post: QueryDict | dict) -> dict[str, Any]:
    """The wizard's choices, checked; errors name the input."""
    return {
        "policy": inputs.choice(post.get("refund_policy", "plan"), "refund_policy", POLICY_CHOICES),
        "give_back": inputs.choice(post.get("give_back", "refund"), "give_back", services.GIVE_BACK),
        "at": inputs.date(post.get("at"), "at"),
        "reason": inputs.choice(post.get("reason", "customer_request"), "reason", services.CANCELLATION_REASONS),
        "comment": inputs.text(post.get("comment"), "comment", max_length=500, required=False),
    }


def _cancel(subscription: Subscription, choices: dict[str, Any], user: object) -> Order:
    return services.cancel(
        subscription.pk,
        at=choices["at"],
        refund_policy_name=choices["policy"],
        give_back=choices["give_back"],
        reason=choices["reason"],
        comment=choices["comment"],
        user=user,
    )


@staff_view()
def cancel_quote(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """The htmx fragment: what cancelling with these choices would give back, and why."""
    subscription = selectors.get_subscription(subscription_id)
    try:
        choices = _wizard(request.GET)
        quote = services.cancellation_quote(subscription, choices["at"], choices["policy"])
    except ReceivablesError as error:
        return render(request, "backoffice/subscriptions/_quote.html", {"error": error})
    return render(request, "backoffice/subscriptions/_quote.html", {"quote": quote, "choices": choices})


@staff_view(permissions.WRITE)
def cancel_wizard(request: HttpRequest, subscription_id: int) -> HttpResponse:
    subscription = selectors.get_subscription(subscription_id)
    errors: dict[str, str] = {}
    answer = request.POST.get("answer")
    if request.method == "POST":
        if answer == "no":
            messages.info(request, "The subscription was not cancelled.")
            return redirect("backoffice:customer", subscription.customer_id)
        try:
            choices = _wizard(request.POST)
            quote = services.cancellation_quote(subscription, choices["at"], choices["policy"])
            if answer == "yes":
                order = _cancel(subscription, choices, request.user)
                made = ", ".join(d.number for d in selectors.order_documents(order)) or "no documents"
                messages.success(request, f"Subscription cancelled by order {order.number}: {made}.")
                return redirect("backoffice:accounts", subscription.customer_id)
            context = {"subscription": subscription, "quote": quote, "choices": choices, "labels": POLICY_LABELS}
            return render(request, "backoffice/subscriptions/cancel_confirm.html", context)
        except ReceivablesError as error:
            errors = form_errors(error, FIELDS)
    context = {
        "subscription": subscription,
        "errors": errors,
        "values": request.POST if request.method == "POST" else {"refund_policy": "plan", "give_back": "refund"},
        "policies": POLICY_LABELS.items(),
        "give_backs": GIVE_BACK_LABELS.items(),
        "reasons": services.CANCELLATION_REASONS,
    }
    return render(request, "backoffice/subscriptions/cancel.html", context)
