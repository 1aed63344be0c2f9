"""Every status in the product changes by a table: (status, action) → the next status.

Standard library only. Services never write a status of their own choosing: they name the
action and ``Lifecycle.next`` answers with the status it leads to, or refuses it. A pair not
in a table is an error (the API answers 409 with the lifecycle's code), never a silent write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


class TransitionRefused(ValueError):
    """An action that the thing's current status does not allow. ``code`` is stable."""

    def __init__(self, lifecycle: str, status: str, action: str, code: str) -> None:
        super().__init__(f"a {lifecycle} that is {status} cannot {action.replace('_', ' ')}")
        self.lifecycle = lifecycle
        self.status = status
        self.action = action
        self.code = code


@dataclass(frozen=True)
class Lifecycle:
    name: str
    moves: Mapping[tuple[str, str], str]
    # The error code an action is refused with, as the API has always named it.
    refusals: Mapping[str, str]

    @property
    def statuses(self) -> tuple[str, ...]:
        found = {status for status, _ in self.moves} | set(self.moves.values())
        return tuple(sorted(found))

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(sorted({action for _, action in self.moves}))

    def allows(self, status: str, action: str) -> bool:
        return (status, action) in self.moves

    def next(self, status: str, action: str) -> str:
        try:
            return self.moves[(status, action)]
        except KeyError:
            code = self.refusals.get(action, f"{self.name}_cannot_{action}")
            raise TransitionRefused(self.name, status, action, code) from None


SUBSCRIPTION = Lifecycle(
    "subscription",
    {
        # The sales order's charge, or a renewal's that had no answer at first, is paid.
        ("pending", "pay"): "active",
        ("active", "pay"): "active",
        ("past_due", "pay"): "active",
        # A renewal's charge is declined or has no answer yet; a first charge leaves it pending.
        ("pending", "miss_payment"): "pending",
        ("active", "miss_payment"): "past_due",
        ("past_due", "miss_payment"): "past_due",
        ("pending", "cancel"): "cancelled",
        ("active", "cancel"): "cancelled",
        ("past_due", "cancel"): "cancelled",
    },
    {"pay": "subscription_cancelled", "miss_payment": "subscription_cancelled", "cancel": "subscription_cancelled"},
)

ORDER = Lifecycle(
    "order",
    {
        ("waiting_for_payment", "complete"): "completed",
        # The subscription was cancelled before its charge was paid.
        ("waiting_for_payment", "cancel"): "cancelled",
    },
    {"complete": "order_not_waiting", "cancel": "order_not_waiting"},
)

# Receivable documents other than refunds. Open and closed follow the O/S: ``pay_off``
# takes it to zero, ``pay_part`` leaves some, ``reopen`` gives some back (a reversal).
DOCUMENT = Lifecycle(
    "document",
    {
        ("open", "pay_part"): "open",
        ("open", "pay_off"): "closed",
        ("open", "reopen"): "open",
        ("closed", "reopen"): "open",
        ("hold", "release"): "open",
        # A credit on hold that never touched a gateway is withdrawn: kept, counted nowhere.
        ("hold", "withdraw"): "cancelled",
        # A credit taken back whole by what made it (a bank line unmatched takes back its payment
        # and its write-off), once nothing is applied from it: kept, counted nowhere, entries reversed.
        ("open", "void"): "cancelled",
    },
    {
        "release": "not_on_hold",
        "withdraw": "not_on_hold",
        "pay_part": "document_not_open",
        "pay_off": "document_not_open",
        "reopen": "document_not_open",
        "void": "document_not_open",
    },
)

REFUND = Lifecycle(
    "refund",
    {
        ("hold", "edit"): "hold",
        ("hold", "approve"): "hold",
        ("failed", "approve"): "failed",
        ("hold", "reject"): "cancelled",
        ("failed", "reject"): "cancelled",
        # A card refund is sent to the gateway; one whose answer was lost is sent again.
        ("hold", "send"): "processing",
        ("failed", "send"): "processing",
        ("processing", "resend"): "processing",
        ("processing", "succeed"): "refunded",
        ("processing", "decline"): "failed",
        ("processing", "lose_answer"): "processing",
        # A bank refund is paid by transfer: staff confirm it was sent.
        ("hold", "pay_by_transfer"): "refunded",
        ("hold", "cancel"): "cancelled",
        ("failed", "cancel"): "cancelled",
    },
    {
        "edit": "refund_not_on_hold",
        "approve": "refund_not_pending",
        "reject": "refund_not_pending",
        "send": "refund_not_processable",
        "resend": "refund_not_processable",
        "pay_by_transfer": "refund_not_processable",
        "succeed": "refund_not_processing",
        "decline": "refund_not_processing",
        "lose_answer": "refund_not_processing",
        "cancel": "refund_not_cancellable",
    },
)

E_TRANSACTION = Lifecycle(
    "e-transaction",
    {
        ("pending", "succeed"): "succeeded",
        ("pending", "decline"): "declined",
        ("pending", "lose_answer"): "unknown",
        ("unknown", "succeed"): "succeeded",
        ("unknown", "decline"): "declined",
        ("unknown", "lose_answer"): "unknown",
    },
    {"succeed": "transaction_final", "decline": "transaction_final", "lose_answer": "transaction_final"},
)

# A refund's approval by a second person: awaiting until someone decides.
APPROVAL = Lifecycle(
    "approval",
    {
        ("awaiting", "approve"): "approved",
        ("awaiting", "reject"): "rejected",
        # An approver may still stop an approved refund before it is paid.
        ("approved", "reject"): "rejected",
        ("approved", "approve"): "approved",
    },
    {"approve": "refund_rejected", "reject": "refund_rejected"},
)

LIFECYCLES = (SUBSCRIPTION, ORDER, DOCUMENT, REFUND, E_TRANSACTION, APPROVAL)

# What the gateway's answer to a call means as an action on its e-transaction.
OUTCOME_ACTIONS = {"succeeded": "succeed", "declined": "decline", "unknown": "lose_answer"}
