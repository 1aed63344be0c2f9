"""A sandbox gateway slow enough that a crash lands in the middle of charges and refunds.

The server subprocess imports it by path (RECEIVABLES_GATEWAY=tests.faults.slow_gateway.SlowSandbox,
with the repo root on PYTHONPATH). The delays, in milliseconds, come from the environment so a test
can place the crash before the gateway acts, while it acts, and after it answered.
"""

from __future__ import annotations

import os
import time

from receivables.gateways.protocol import GatewayResult
from receivables.gateways.sandbox import SandboxGateway
from receivables.money import Money


def _pause(name: str) -> None:
    millis = int(os.environ.get(name, "0"))
    if millis > 0:
        time.sleep(millis / 1000)


class SlowSandbox(SandboxGateway):
    def charge(self, *, amount: Money, payment_method: str, idempotency_key: str) -> GatewayResult:
        _pause("FAULT_CHARGE_DELAY_BEFORE_MS")
        result = super().charge(amount=amount, payment_method=payment_method, idempotency_key=idempotency_key)
        _pause("FAULT_CHARGE_DELAY_AFTER_MS")
        return result

    def refund(self, *, amount: Money, charge_reference: str, idempotency_key: str) -> GatewayResult:
        _pause("FAULT_REFUND_DELAY_BEFORE_MS")
        result = super().refund(amount=amount, charge_reference=charge_reference, idempotency_key=idempotency_key)
        _pause("FAULT_REFUND_DELAY_AFTER_MS")
        return result
