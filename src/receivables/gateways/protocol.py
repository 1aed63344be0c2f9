"""What the product needs from a payment gateway. The sandbox and real gateways implement it.

Every call carries an idempotency key: sending the same key again never moves money twice
and returns the first answer. A call that gets no answer raises ``GatewayTimeout``; the
outcome is then unknown until ``lookup`` (or a resend with the same key) settles it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from receivables.money import Money

Outcome = Literal["succeeded", "declined", "unknown"]


@dataclass(frozen=True)
class GatewayResult:
    status: Outcome
    reference: str = ""
    reason: str = ""
    raw: dict = field(default_factory=dict)


class GatewayTimeout(Exception):
    """The gateway did not answer; it may or may not have acted."""


class PaymentGateway(Protocol):
    name: str

    def charge(self, *, amount: Money, payment_method: str, idempotency_key: str) -> GatewayResult: ...

    def refund(self, *, amount: Money, charge_reference: str, idempotency_key: str) -> GatewayResult: ...

    def void(self, *, charge_reference: str, idempotency_key: str) -> GatewayResult: ...

    def lookup(self, *, idempotency_key: str) -> GatewayResult | None:
        """The gateway's answer to an earlier call, or None if it never acted on that key."""
        ...
