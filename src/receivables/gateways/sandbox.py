"""The built-in sandbox gateway: its own books in its own table, as a remote gateway keeps.

Test payment methods:
- ``tok_visa``: charges and refunds succeed.
- ``tok_declined``: charges are declined.
- ``tok_timeout``: the first charge with a key gets no answer; whether the sandbox recorded it
  first is decided by the key (``records_before_timeout``), so both outcomes can be tested.
- ``tok_refund_timeout``: charges succeed; the first refund with a key gets no answer, as above.
- ``tok_refund_declined``: charges succeed; refunds are declined (the card account is closed).
A resend with the same key is answered normally, like a gateway after a passing outage.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Sum

from receivables.gateways.models import SandboxOperation
from receivables.gateways.protocol import GatewayResult, GatewayTimeout
from receivables.money import Money

SUCCEEDS = {"tok_visa", "tok_mastercard", "tok_timeout", "tok_refund_timeout", "tok_refund_declined"}
# An attempt that timed out before the sandbox recorded it: kept so the resend is answered.
LOST = "lost"


@dataclass(frozen=True)
class _Request:
    """One call to the sandbox: ``decide`` answers it the first time its key is seen."""

    kind: str
    amount: Money
    method: str
    parent: str
    key: str
    decide: Callable[[], tuple[str, str]]
    timeout: bool


def _succeeds() -> tuple[str, str]:
    """A void of a known charge always succeeds."""
    return "succeeded", ""


def records_before_timeout(idempotency_key: str) -> bool:
    return int(hashlib.sha256(idempotency_key.encode()).hexdigest()[:8], 16) % 2 == 0


def _on_its_own() -> AbstractContextManager[object]:
    """A savepoint inside a caller's transaction, so that a refused insert does not break it.

    Outside one, nothing: each statement commits on its own.
    """
    return transaction.atomic() if transaction.get_connection().in_atomic_block else nullcontext()


def _result(operation: SandboxOperation) -> GatewayResult:
    return GatewayResult(
        status="succeeded" if operation.status == "succeeded" else "declined",
        reference=operation.reference,
        reason=operation.reason,
        raw={
            "id": operation.reference,
            "kind": operation.kind,
            "status": operation.status,
            "amount": Money(operation.amount_minor, operation.currency).to_decimal_string(),
            "currency": operation.currency,
            "reason": operation.reason,
        },
    )


class SandboxGateway:
    name = "sandbox"

    def charge(self, *, amount: Money, payment_method: str, idempotency_key: str) -> GatewayResult:
        def decide() -> tuple[str, str]:
            if payment_method in SUCCEEDS:
                return "succeeded", ""
            if payment_method == "tok_declined":
                return "declined", "card_declined: insufficient funds"
            return "declined", "invalid_payment_method: unknown card token"

        timeout = payment_method == "tok_timeout"
        return self._operate(_Request("charge", amount, payment_method, "", idempotency_key, decide, timeout))

    def refund(self, *, amount: Money, charge_reference: str, idempotency_key: str) -> GatewayResult:
        charge = SandboxOperation.objects.filter(reference=charge_reference, kind="charge").first()

        def decide() -> tuple[str, str]:
            # Locked so that two refunds of one charge cannot both spend what is left.
            charge = (
                SandboxOperation.objects.select_for_update().filter(reference=charge_reference, kind="charge").first()
            )
            if charge is None or charge.status != "succeeded":
                return "declined", "no_such_charge: nothing captured to refund"
            if charge.currency != amount.currency:
                return "declined", "currency_mismatch"
            if charge.payment_method == "tok_refund_declined":
                return "declined", "refund_declined: the card account is closed"
            refunded = (
                SandboxOperation.objects.filter(
                    parent_reference=charge_reference, kind="refund", status="succeeded"
                ).aggregate(total=Sum("amount_minor"))["total"]
                or 0
            )
            if refunded + amount.minor > charge.amount_minor:
                return "declined", "exceeds_charge: more than is left to refund"
            return "succeeded", ""

        timeout = charge is not None and charge.payment_method == "tok_refund_timeout"
        method = charge.payment_method if charge else ""
        request = _Request("refund", amount, method, charge_reference, idempotency_key, decide, timeout)
        return self._operate(request, reads_books=True)

    def void(self, *, charge_reference: str, idempotency_key: str) -> GatewayResult:
        charge = SandboxOperation.objects.filter(reference=charge_reference, kind="charge").first()
        if charge is None:
            return GatewayResult("declined", reason="no_such_charge")
        amount = Money(charge.amount_minor, charge.currency)
        return self._operate(
            _Request("void", amount, charge.payment_method, charge_reference, idempotency_key, _succeeds, False)
        )

    def lookup(self, *, idempotency_key: str) -> GatewayResult | None:
        operation = SandboxOperation.objects.filter(idempotency_key=idempotency_key).exclude(status=LOST).first()
        return None if operation is None else _result(operation)

    def _operate(self, request: _Request, *, reads_books: bool = False) -> GatewayResult:
        """Answer a request once per key: ``decide`` answers a new one (``reads_books`` if it reads other rows)."""
        operation = None if reads_books else self._record_new(request)
        first_attempt = operation is not None
        if operation is None:
            operation, first_attempt = self._answer_locked(request)
        if first_attempt and request.timeout:
            state = "before recording it" if operation.status == LOST else "after recording it"
            raise GatewayTimeout(f"sandbox: the answer to {request.kind} {request.key} was lost {state}")
        return _result(operation)

    def _record_new(self, request: _Request) -> SandboxOperation | None:
        """Record a new key's answer in one insert; None if the key was used before.

        A charge's answer depends on nothing stored, so the usual first attempt needs no lock:
        one statement instead of six.
        """
        lost = request.timeout and not records_before_timeout(request.key)
        status, reason = (LOST, "") if lost else request.decide()
        operation = self._operation(request, status, reason)
        try:
            with _on_its_own():
                operation.save(force_insert=True)
        except IntegrityError:
            return None
        return operation

    def _answer_locked(self, request: _Request) -> tuple[SandboxOperation, bool]:
        """The operation stored for the key, under its lock, and whether this is the key's first attempt."""
        # The sandbox's books commit on their own, whatever the caller's transaction does.
        with transaction.atomic():
            existing = SandboxOperation.objects.select_for_update().filter(idempotency_key=request.key).first()
            if existing is not None and existing.status != LOST:
                return existing, False
            first_attempt = existing is None
            if first_attempt and request.timeout and not records_before_timeout(request.key):
                return self._record(request, LOST, ""), True
            if existing is not None:
                existing.delete()
            return self._record(request, *request.decide()), first_attempt

    @staticmethod
    def _operation(request: _Request, status: str, reason: str) -> SandboxOperation:
        return SandboxOperation(
            idempotency_key=request.key,
            kind=request.kind,
            reference=f"sbx_{request.kind[:2]}_{secrets.token_hex(8)}",
            amount_minor=request.amount.minor,
            currency=request.amount.currency,
            payment_method=request.method,
            parent_reference=request.parent,
            status=status,
            reason=reason,
        )

    def _record(self, request: _Request, status: str, reason: str) -> SandboxOperation:
        try:
            with transaction.atomic():
                operation = self._operation(request, status, reason)
                operation.save(force_insert=True)
                return operation
        except IntegrityError:
            # Another request recorded the same key first: its answer is the answer.
            return SandboxOperation.objects.get(idempotency_key=request.key)
