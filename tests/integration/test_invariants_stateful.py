"""Random sequences of account operations; after every step the ledger verifies and matches a model.

The model is kept by the test, from the rules in DOMAIN.md: each document's O/S and status,
each customer's balance, which allocation may be reversed, and what auto-apply must do.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from receivables.core.checks import verify
from receivables.core.errors import ReceivablesError
from receivables.customers import services as customers
from receivables.customers.models import Customer
from receivables.documents import services
from receivables.documents.models import Allocation, Document
from receivables.documents.services import LineInput
from receivables.money import Money

DAY = datetime.date(2026, 1, 1)
CREDITS = {"payment", "credit_note"}
DEBITS = {"invoice", "debit_memo"}
picks = st.integers(min_value=0, max_value=10**6)
days = st.integers(min_value=0, max_value=20).map(lambda n: DAY + datetime.timedelta(days=n))


@dataclass
class Doc:
    id: int
    customer: int
    type: str
    date: datetime.date
    total: int
    outstanding: int
    status: str

    @property
    def signed(self) -> int:
        return self.total if self.type in DEBITS else -self.total


@dataclass
class Alloc:
    id: int
    source: int
    target: int
    amount: int
    reversal_of: int | None = None
    reversed: bool = False


class AccountsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # Each example runs inside a savepoint of the test's transaction and is rolled back.
        self.savepoint = transaction.savepoint()
        customers.create_bank_account(name="Main GBP", currency="GBP", is_default=True)
        customers.create_bank_account(name="Main JPY", currency="JPY", is_default=True)
        made = [
            customers.create_customer(name="Gina", currency="GBP"),
            customers.create_customer(name="Gus", currency="GBP", auto_apply=True),
            customers.create_customer(name="Jun", currency="JPY"),
        ]
        self.customers: list[Customer] = made
        self.auto_apply = {c.pk: c.auto_apply for c in made}
        self.docs: dict[int, Doc] = {}
        self.allocs: dict[int, Alloc] = {}

    def teardown(self) -> None:
        transaction.savepoint_rollback(self.savepoint)

    # helpers ----------------------------------------------------------------------------

    def customer(self, pick: int) -> Customer:
        return self.customers[pick % len(self.customers)]

    def record(self, document: Document) -> None:
        self.docs[document.pk] = Doc(
            document.pk,
            document.customer_id,
            document.type,
            document.date,
            document.total_minor,
            document.total_minor,
            "hold" if document.status == "hold" else "open",
        )
        # A credit created on hold triggers nothing: it is applied when released.
        if document.status != "hold":
            self.auto_apply_model(document.customer_id)

    def settle(self, doc: Doc, amount: int) -> None:
        doc.outstanding -= amount
        if doc.status in ("open", "closed"):
            doc.status = "open" if doc.outstanding else "closed"

    def auto_apply_model(self, customer_id: int) -> None:
        """DOMAIN.md: open credits go to open invoices and debit memos, oldest first."""
        if not self.auto_apply[customer_id]:
            return
        mine = sorted((d for d in self.docs.values() if d.customer == customer_id), key=lambda d: (d.date, d.id))
        credits = [d for d in mine if d.type in CREDITS and d.status == "open"]
        debits = [d for d in mine if d.type in DEBITS and d.status == "open"]
        for credit in credits:
            for debit in debits:
                share = min(credit.outstanding, debit.outstanding)
                if share:
                    self.settle(credit, share)
                    self.settle(debit, share)
        self.allocs.update(
            {
                a.pk: Alloc(a.pk, a.source_id, a.target_id, a.amount_minor)
                for a in Allocation.objects.exclude(pk__in=list(self.allocs))
            }
        )

    def amount(self, customer: Customer, major: int, minor: int) -> Money:
        if customer.currency == "JPY":
            return Money(major * 100 + minor, "JPY")
        return Money(major * 100 + minor, "GBP")

    # operations -------------------------------------------------------------------------

    @rule(pick=picks, day=days, quantity=st.integers(1, 3), price=st.integers(1, 50_000), taxed=st.booleans())
    def invoice(self, pick: int, day: datetime.date, quantity: int, price: int, taxed: bool) -> None:
        customer = self.customer(pick)
        unit = Money(price, customer.currency).amount
        line = LineInput("Item", Decimal(quantity), unit, Decimal(20 if taxed else 0))
        document = services.create_invoice(customer.pk, [line], date=day)
        net = quantity * price
        tax = (net * 20 + 50) // 100 if taxed else 0  # half-up on positive amounts
        assert document.total_minor == net + tax
        self.record(document)

    @rule(pick=picks, day=days, price=st.integers(1, 20_000))
    def debit_memo(self, pick: int, day: datetime.date, price: int) -> None:
        customer = self.customer(pick)
        line = LineInput("Fee", Decimal(1), Money(price, customer.currency).amount, Decimal(0))
        self.record(services.create_debit_memo(customer.pk, [line], date=day))

    @rule(pick=picks, day=days, major=st.integers(0, 300), minor=st.integers(1, 99), card=st.booleans())
    def payment(self, pick: int, day: datetime.date, major: int, minor: int, card: bool) -> None:
        customer = self.customer(pick)
        amount = self.amount(customer, major, minor)
        document = services.record_payment(customer.pk, amount, "card" if card else "bank_transfer", date=day)
        assert document.total_minor == amount.minor
        self.record(document)

    @rule(pick=picks, day=days, major=st.integers(0, 300), minor=st.integers(1, 99), hold=st.booleans())
    def credit_note(self, pick: int, day: datetime.date, major: int, minor: int, hold: bool) -> None:
        customer = self.customer(pick)
        amount = self.amount(customer, major, minor)
        rate = Decimal(20) if minor % 2 else Decimal(0)
        document = services.create_credit_note(
            customer.pk, reason="goodwill", amount=amount, tax_rate=rate, date=day, hold=hold
        )
        assert document.net_minor + document.tax_minor == amount.minor
        self.record(document)

    @precondition(lambda self: any(d.status == "hold" for d in self.docs.values()))
    @rule(pick=picks)
    def release(self, pick: int) -> None:
        held = sorted(d.id for d in self.docs.values() if d.status == "hold")
        doc = self.docs[held[pick % len(held)]]
        services.release_credit(doc.id)
        doc.status = "open"
        self.auto_apply_model(doc.customer)

    @precondition(lambda self: len(self.docs) >= 2)
    @rule(source_pick=picks, target_pick=picks, fraction=st.integers(-10, 130), exact=st.booleans())
    def allocate(self, source_pick: int, target_pick: int, fraction: int, exact: bool) -> None:
        ids = sorted(self.docs)
        source, target = self.docs[ids[source_pick % len(ids)]], self.docs[ids[target_pick % len(ids)]]
        # Around the smaller O/S, sometimes exactly it, sometimes over, zero or negative.
        limit = min(source.outstanding, target.outstanding)
        amount_minor = limit if exact else (max(source.outstanding, 1) * fraction) // 100
        currency = Document.objects.get(pk=source.id).currency
        expected = self.refusal(source, target, amount_minor)
        try:
            made = services.allocate(source.id, target.id, Money(amount_minor, currency))
        except ReceivablesError as error:
            assert error.code == expected, (error.code, expected)
            return
        assert expected is None, f"allocated though {expected} was expected"
        self.settle(source, amount_minor)
        self.settle(target, amount_minor)
        self.allocs[made.pk] = Alloc(made.pk, source.id, target.id, amount_minor)

    def refusal(self, source: Doc, target: Doc, amount: int) -> str | None:
        """The first rule an allocation breaks, in the order the API documents them."""
        if source.id == target.id:
            return "allocation_to_itself"
        if source.type not in CREDITS:
            return "not_a_credit"
        if target.type not in DEBITS:
            return "not_a_debit"
        if source.customer != target.customer:
            return "other_customer"
        if source.status != "open":
            return f"source_{source.status}"
        if amount <= 0:
            return "amount_not_positive"
        if amount > source.outstanding:
            return "exceeds_source_outstanding"
        if amount > target.outstanding:
            return "exceeds_target_outstanding"
        return None

    @precondition(lambda self: bool(self.allocs))
    @rule(pick=picks)
    def reverse(self, pick: int) -> None:
        ids = sorted(self.allocs)
        chosen = self.allocs[ids[pick % len(ids)]]
        expected = "is_reversal" if chosen.reversal_of else "already_reversed" if chosen.reversed else None
        try:
            reversal = services.reverse_allocation(chosen.id)
        except ReceivablesError as error:
            assert error.code == expected
            return
        assert expected is None
        chosen.reversed = True
        self.allocs[reversal.pk] = Alloc(reversal.pk, chosen.source, chosen.target, -chosen.amount, chosen.id)
        self.settle(self.docs[chosen.source], -chosen.amount)
        self.settle(self.docs[chosen.target], -chosen.amount)

    @rule(pick=picks)
    def toggle_auto_apply(self, pick: int) -> None:
        customer = self.customer(pick)
        now = not self.auto_apply[customer.pk]
        customers.update_customer(customer.pk, name=customer.name, email="", auto_apply=now)
        self.auto_apply[customer.pk] = now  # applies from the next document on

    # invariants -------------------------------------------------------------------------

    @invariant()
    def ledger_verifies(self) -> None:
        problems = {name: found for name, found in verify().items() if found}
        assert problems == {}

    @invariant()
    def documents_match_the_model(self) -> None:
        stored = {
            pk: (outstanding, status)
            for pk, outstanding, status in Document.objects.values_list("id", "outstanding_minor", "status")
        }
        assert stored == {d.id: (d.outstanding, d.status) for d in self.docs.values()}

    @invariant()
    def balances_match_the_model(self) -> None:
        expected = {c.pk: 0 for c in self.customers}
        for doc in self.docs.values():
            expected[doc.customer] += doc.signed
        assert dict(Customer.objects.values_list("id", "balance_minor")) == expected

    @invariant()
    def allocations_are_kept(self) -> None:
        assert Allocation.objects.count() == len(self.allocs)


@pytest.mark.django_db
def test_random_account_operations_keep_every_invariant() -> None:
    run_state_machine_as_test(
        AccountsMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
