"""Writes for plans, subscriptions and orders, split by job.

- ``plans``: plans and their versions;
- ``orders``: invoicing a period into an order, and the audit records of orders and subscriptions;
- ``charging``: charging the card for sales and renewal orders, and settling the answers;
- ``subscribe``: the sales order that starts a subscription;
- ``renewals``: renewal orders and the bill run;
- ``cancellation``: quotes, cancellation orders, credit memos and held refunds.
"""

from receivables.subscriptions.services.cancellation import (
    CANCELLATION_REASONS,
    GIVE_BACK,
    CancellationQuote,
    cancel,
    cancellation_quote,
)
from receivables.subscriptions.services.orders import OrderResult
from receivables.subscriptions.services.plans import MAX_PERIODS, create_plan, new_plan_version, parse_periods
from receivables.subscriptions.services.renewals import BATCH_SIZE, BillRunSummary, bill_run
from receivables.subscriptions.services.subscribe import subscribe

__all__ = [
    "BATCH_SIZE",
    "CANCELLATION_REASONS",
    "GIVE_BACK",
    "MAX_PERIODS",
    "BillRunSummary",
    "CancellationQuote",
    "OrderResult",
    "bill_run",
    "cancel",
    "cancellation_quote",
    "create_plan",
    "new_plan_version",
    "parse_periods",
    "subscribe",
]
