"""Which accounts each business event debits and credits. Every entry balances."""

from __future__ import annotations

from dataclasses import dataclass

from receivables.money import Money

ACCOUNTS_RECEIVABLE = "1100"
CARD_GATEWAY_CLEARING = "1200"
VAT_PAYABLE = "2100"
REFUNDS_PAYABLE = "2200"
SALES = "4000"
SALES_RETURNS = "4100"
BAD_DEBTS = "6100"

CHART: dict[str, tuple[str, str]] = {
    ACCOUNTS_RECEIVABLE: ("Accounts receivable", "asset"),
    CARD_GATEWAY_CLEARING: ("Card gateway clearing", "asset"),
    VAT_PAYABLE: ("VAT payable", "liability"),
    REFUNDS_PAYABLE: ("Refunds payable", "liability"),
    SALES: ("Sales", "income"),
    SALES_RETURNS: ("Sales returns and allowances", "income"),
    BAD_DEBTS: ("Bad debts", "expense"),
}


class UnbalancedEntry(ValueError):
    pass


@dataclass(frozen=True)
class Leg:
    account: str
    debit: Money
    credit: Money


def _debit(account: str, amount: Money) -> Leg:
    return Leg(account, amount, Money.zero(amount.currency))


def _credit(account: str, amount: Money) -> Leg:
    return Leg(account, Money.zero(amount.currency), amount)


def balanced(legs: list[Leg]) -> list[Leg]:
    """Drop zero legs and refuse an entry whose debits and credits differ."""
    kept = [leg for leg in legs if leg.debit.minor or leg.credit.minor]
    if not kept:
        raise UnbalancedEntry("an entry needs at least one non-zero leg")
    # Both sides count: a leg could carry a debit in one currency and a credit in another.
    currencies = {leg.debit.currency for leg in kept} | {leg.credit.currency for leg in kept}
    if len(currencies) != 1:
        raise UnbalancedEntry("an entry is in exactly one currency")
    if sum(leg.debit.minor for leg in kept) != sum(leg.credit.minor for leg in kept):
        raise UnbalancedEntry("debits and credits differ")
    return kept


def sale(net: Money, tax: Money) -> list[Leg]:
    """Invoice or debit memo: the customer owes the gross."""
    return balanced(
        [
            _debit(ACCOUNTS_RECEIVABLE, net + tax),
            _credit(SALES, net),
            _credit(VAT_PAYABLE, tax),
        ]
    )


def sales_credit(net: Money, tax: Money) -> list[Leg]:
    """Credit note or credit memo: the customer owes the gross less."""
    return balanced(
        [
            _debit(SALES_RETURNS, net),
            _debit(VAT_PAYABLE, tax),
            _credit(ACCOUNTS_RECEIVABLE, net + tax),
        ]
    )


def receipt(amount: Money, cash_account: str) -> list[Leg]:
    """A payment received into a bank account or the card gateway's clearing account."""
    return balanced([_debit(cash_account, amount), _credit(ACCOUNTS_RECEIVABLE, amount)])


def refund_owed(amount: Money) -> list[Leg]:
    """A refund is created: the receivable rises and the business owes the money out."""
    return balanced([_debit(ACCOUNTS_RECEIVABLE, amount), _credit(REFUNDS_PAYABLE, amount)])


def refund_paid(amount: Money, cash_account: str) -> list[Leg]:
    return balanced([_debit(REFUNDS_PAYABLE, amount), _credit(cash_account, amount)])


def write_off(amount: Money) -> list[Leg]:
    """An amount the customer will not pay: the receivable falls and the business bears the loss."""
    return balanced([_debit(BAD_DEBTS, amount), _credit(ACCOUNTS_RECEIVABLE, amount)])


def reversal(legs: list[Leg]) -> list[Leg]:
    return balanced([Leg(leg.account, leg.credit, leg.debit) for leg in legs])
