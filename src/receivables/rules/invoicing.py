"""Line and document amounts: net, tax and gross, rounded once per amount, half-up."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from receivables.money import Money

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class LineAmounts:
    net: Money
    tax: Money

    @property
    def gross(self) -> Money:
        return self.net + self.tax


@dataclass(frozen=True)
class DocumentAmounts:
    net: Money
    tax: Money

    @property
    def gross(self) -> Money:
        return self.net + self.tax


def line_amounts(quantity: Decimal, unit_price: Decimal, tax_rate: Decimal, currency: str) -> LineAmounts:
    """Net is quantity × unit price (which may carry 4 places); tax is net × rate %."""
    net = Money.from_decimal(quantity * unit_price, currency)
    tax = Money.from_decimal(net.amount * tax_rate / HUNDRED, currency)
    return LineAmounts(net=net, tax=tax)


def document_amounts(lines: list[LineAmounts], currency: str) -> DocumentAmounts:
    net = Money.zero(currency)
    tax = Money.zero(currency)
    for line in lines:
        net = net + line.net
        tax = tax + line.tax
    return DocumentAmounts(net=net, tax=tax)


def split_gross(gross: Money, tax_rate: Decimal) -> DocumentAmounts:
    """Split a tax-inclusive gross amount: tax = gross × rate ÷ (100 + rate), half-up; net = gross − tax.

    The tax is the part rounded (as on an invoice line), so net + tax is exactly the gross.
    """
    tax = Money.from_decimal(gross.amount * tax_rate / (HUNDRED + tax_rate), gross.currency)
    return DocumentAmounts(net=gross - tax, tax=tax)
