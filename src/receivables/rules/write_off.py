"""How short a payment may be and still settle an invoice, the rest written off in the same step.

``WRITE_OFF_TOLERANCE`` is written like the approval thresholds (``receivables.rules.approval``):
``"GBP=0.50,*=1.00"``, a named currency's amount in that currency and the ``*`` amount in each
other currency's major units (``*=1.00`` is £1.00, €1.00 and ¥1). ``none`` means no tolerance.
"""

from __future__ import annotations

import math

from receivables.money import exponent
from receivables.rules.approval import parse_thresholds


def tolerance_minor(setting: str, currency: str) -> int:
    """The largest shortfall, in minor units, that may be written off with a match (never below 0)."""
    thresholds = parse_thresholds(setting)
    if currency in thresholds.named:
        return thresholds.named[currency] or 0
    if thresholds.others is None:
        return 0
    # A tolerance of £0.005 is no whole penny: round down, never write off more than allowed.
    return math.floor(thresholds.others.scaleb(exponent(currency)))
