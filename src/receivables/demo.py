"""A small, realistic book for trying the product: customers, bank accounts, documents.

Both seed stories are in it: a £25 credit note used to pay a £20 invoice (Refund O/S shows
£5.00 outstanding), and, once subscriptions exist, a card subscription to cancel.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from receivables.core.roles import assign_role
from receivables.customers import services as customers
from receivables.customers.models import BankAccount, Customer
from receivables.documents import services as documents
from receivables.documents.services import LineInput
from receivables.money import Money

FIRST = [
    "Alice",
    "Ben",
    "Chloe",
    "Dylan",
    "Emma",
    "Farid",
    "Grace",
    "Hugo",
    "Isla",
    "Jack",
    "Kiran",
    "Lena",
    "Marta",
    "Noah",
    "Olivia",
    "Priya",
    "Quentin",
    "Rosa",
    "Sam",
    "Tariq",
    "Una",
    "Victor",
    "Wen",
    "Xavier",
    "Yusuf",
    "Zara",
]
LAST = [
    "Brown",
    "Clarke",
    "Davies",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Iqbal",
    "Jones",
    "Khan",
    "Lewis",
    "Morgan",
    "Novak",
    "Owen",
    "Patel",
    "Quinn",
    "Roberts",
    "Smith",
    "Taylor",
    "Usman",
    "Vaughan",
    "Walker",
    "Young",
    "Zhang",
]
PRODUCTS = [
    ("Hosting, standard", "19.99"),
    ("Domain renewal", "12.00"),
    ("Support hours", "45.00"),
    ("SSL certificate", "39.50"),
    ("Backup storage 100 GB", "4.75"),
    ("Consulting day", "650.00"),
]

SEED_CUSTOMER = "Alice Brown"


def _staff(password: str) -> None:
    user_model = get_user_model()
    for name, role in (("demo", "admin"), ("clerk", "clerk"), ("approver", "approver"), ("viewer", "viewer")):
        user, _ = user_model.objects.get_or_create(username=name)
        user.set_password(password)
        user.save()
        assign_role(user, role)


def _bank_accounts() -> None:
    if BankAccount.objects.exists():
        return
    customers.create_bank_account(name="Barclays Current", currency="GBP", is_default=True)
    customers.create_bank_account(name="Lloyds Reserve", currency="GBP")
    customers.create_bank_account(name="Deutsche Bank EUR", currency="EUR", is_default=True)
    customers.create_bank_account(name="Chase USD", currency="USD", is_default=True)
    customers.create_bank_account(name="MUFG Yen", currency="JPY", is_default=True)


def _seed_story(today: datetime.date) -> Customer:
    """A £25 credit note, a £20 invoice, £20 applied: £5 left to refund."""
    alice = customers.create_customer(name=SEED_CUSTOMER, currency="GBP", email="alice.brown@example.com")
    credit = documents.create_credit_note(
        alice.pk,
        reason="returned_goods",
        amount=Money(2500, "GBP"),
        date=today - datetime.timedelta(days=12),
        description="Returned: wireless keyboard",
    )
    invoice = documents.create_invoice(
        alice.pk,
        [LineInput("USB-C cable, 2 m", Decimal(2), Decimal("8.3333"), Decimal(20))],
        date=today - datetime.timedelta(days=10),
    )
    documents.allocate(credit.pk, invoice.pk, Money(2000, "GBP"))
    return alice


SUBSCRIPTION_CUSTOMER = "Bruno Carter"


def _subscription_story(today: datetime.date) -> Customer:
    """The second seed story: a card subscription, paid 9 days ago, to cancel on its 10th day.

    The plan refunds in full for 30 days, then the prorated recurring fee; cancelling it places
    a cancellation order with a released credit memo and a refund on hold for staff to process.
    """
    from receivables.subscriptions import services as subscriptions

    policy = {
        "non_refundable_amount": "0.00",
        "full_refund_days": 30,
        "after_full_refund_period": "prorated_recurring_fee",
    }
    plan = subscriptions.create_plan(
        "Hosting Pro",
        "GBP",
        [
            {
                "duration": "P1M",
                "setup_fee": "10.00",
                "recurring_fee": "30.00",
                "tax_rate": "20",
                "refund_policy": policy,
            },
            {
                "duration": "P1Y",
                "setup_fee": "0.00",
                "recurring_fee": "300.00",
                "tax_rate": "20",
                "refund_policy": policy,
            },
        ],
    )
    bruno = customers.create_customer(name=SUBSCRIPTION_CUSTOMER, currency="GBP", email="bruno.carter@example.com")
    monthly = plan.periods.get(duration="P1M")
    subscriptions.subscribe(bruno.pk, plan.pk, monthly.pk, "tok_visa", start=today - datetime.timedelta(days=9))
    return bruno


def _random_book(rng: random.Random, count: int, today: datetime.date) -> None:
    currencies = ["GBP"] * 6 + ["EUR", "USD", "JPY"]
    for index in range(count):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        if index % 5 == 0:
            name = f"{rng.choice(LAST)} {rng.choice(['Ltd', 'Trading', '& Co', 'Studio', 'Labs'])}"
        currency = rng.choice(currencies)
        customer = customers.create_customer(
            name=name,
            currency=currency,
            email=f"{name.lower().replace(' ', '.').replace('&', 'and')}@example.com",
            auto_apply=index % 4 == 0,
        )
        for _ in range(rng.randint(1, 6)):
            day = today - datetime.timedelta(days=rng.randint(0, 150))
            product, price = rng.choice(PRODUCTS)
            unit = Decimal(price) if currency != "JPY" else Decimal(price).quantize(Decimal(1)) * 150
            invoice = documents.create_invoice(
                customer.pk, [LineInput(product, Decimal(rng.randint(1, 4)), unit, Decimal(20))], date=day
            )
            roll = rng.random()
            if roll < 0.55:
                documents.record_payment(
                    customer.pk,
                    Money(invoice.total_minor, currency),
                    "bank_transfer",
                    date=day + datetime.timedelta(days=rng.randint(1, 20)),
                )
            elif roll < 0.7:
                part = Money(invoice.total_minor // 2, currency)
                documents.record_payment(customer.pk, part, "cheque", date=day + datetime.timedelta(days=5))
            elif roll < 0.8:
                documents.create_credit_note(
                    customer.pk,
                    reason="goodwill",
                    amount=Money(max(1, invoice.total_minor // 10), currency),
                    invoice_id=invoice.pk,
                    date=day + datetime.timedelta(days=3),
                )


@transaction.atomic
def load_demo(*, customer_count: int = 40, password: str = "demo-password") -> list[str]:
    if Customer.objects.filter(name=SEED_CUSTOMER).exists():
        return ["demo data already loaded"]
    today = timezone.localdate()
    _staff(password)
    _bank_accounts()
    alice = _seed_story(today)
    bruno = _subscription_story(today)
    _random_book(random.Random(2026), customer_count, today)
    return [
        f"loaded {Customer.objects.count()} customers; seed story: {alice.number} {alice.name}",
        f"second seed story: {bruno.number} {bruno.name}, a card subscription to cancel (day 10, full refund)",
        f"log in as 'demo' (admin), 'clerk', 'approver' or 'viewer' with password {password!r}",
    ]
