"""Turning matched bank lines into money on the books, for the rules' certain matches and for people alike.

A plan says which invoices a line pays and how much stays on account, for one or several
customers. Settling it, in the caller's transaction with the lines, customers and documents
already locked (in that order), records one ``bank_transfer`` payment per customer into the
statement's bank account (one batch for a whole chunk of lines), applies it to the invoices,
writes off a short payment's rest, remembers the payer's IBAN, and marks the line matched.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from receivables.banking import evidence, write_offs
from receivables.banking.models import BankLine, LinePayment, LineStatus, PayerAccount
from receivables.core import audit, rows
from receivables.customers.models import Customer
from receivables.documents import services as documents
from receivables.documents.models import Document, PaymentMethod
from receivables.money import Money


@dataclass(frozen=True)
class Share:
    """Part of a line for one customer: applied to ``target_id``, or kept on account when it is None."""

    customer_id: int
    target_id: int | None
    amount_minor: int


@dataclass(frozen=True)
class WriteOff:
    target_id: int
    amount_minor: int
    reason: str


@dataclass(frozen=True)
class Plan:
    line: BankLine
    shares: tuple[Share, ...]
    write_off: WriteOff | None = None

    def customers(self) -> list[int]:
        return list(dict.fromkeys(share.customer_id for share in self.shares))

    def paid_by(self, customer_id: int) -> int:
        return sum(share.amount_minor for share in self.shares if share.customer_id == customer_id)


def lock_lines(line_ids: list[int]) -> list[BankLine]:
    """Lock bank lines in id order, before any customer (the order every decision keeps).

    Through the ORM, not ``core.rows.lock``: a line's suggestions are JSON, which the ORM decodes.
    """
    return list(BankLine.objects.select_for_update().filter(pk__in=line_ids).order_by("pk"))


def save_lines(lines: list[BankLine], fields: tuple[str, ...]) -> None:
    """UPDATE the given fields of each line, one prepared statement for them all.

    ``bulk_update`` builds a CASE per field over every row, which costs more than the matching.
    """
    if not lines:
        return
    connection = transaction.get_connection()
    columns = [field for field in BankLine._meta.concrete_fields if field.name in fields]
    assignments = ", ".join(f'"{column.column}" = %s' for column in columns)
    sql = f"UPDATE {BankLine._meta.db_table} SET {assignments} WHERE id = %s"  # noqa: S608
    values = [
        [column.get_db_prep_save(getattr(line, column.attname), connection) for column in columns] + [line.pk]
        for line in lines
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


def lock(plans: list[Plan]) -> tuple[dict[int, Customer], dict[int, Document]]:
    """Lock the plans' customers, then their documents, each in id order (the lines are locked already)."""
    customers = rows.lock(Customer, {c for plan in plans for c in plan.customers()})
    targets = {share.target_id for plan in plans for share in plan.shares if share.target_id is not None}
    targets |= {plan.write_off.target_id for plan in plans if plan.write_off}
    return customers, documents.lock_documents(*sorted(targets))


def _payments(plans: list[Plan], customers: dict[int, Customer], user: object) -> dict[tuple[int, int], Document]:
    bank_accounts = {plan.line.bank_account_id for plan in plans}
    cash = {ident: documents.find_cash_account(ident, plans[0].line.currency) for ident in sorted(bank_accounts)}
    wanted = [(plan, customer) for plan in plans for customer in plan.customers()]
    made = documents.record_payments(
        [
            documents.NewPayment(
                customers[customer],
                Money(plan.paid_by(customer), plan.line.currency),
                PaymentMethod.BANK_TRANSFER,
                plan.line.booking_date,
                cash[plan.line.bank_account_id],
                {"description": f"Bank: {plan.line.reference or plan.line.counterparty}"[:200]},
            )
            for plan, customer in wanted
        ],
        user=user,
        apply_credits=False,
    )
    return {(plan.line.pk, customer): payment for (plan, customer), payment in zip(wanted, made, strict=True)}


def _apply(plan: Plan, payments: dict, customers: dict[int, Customer], targets: dict[int, Document], user: object):
    for share in plan.shares:
        if share.target_id is None:
            continue
        payment, target = payments[(plan.line.pk, share.customer_id)], targets[share.target_id]
        amount = Money(share.amount_minor, plan.line.currency)
        documents.check_allocation(payment, target, amount)
        documents.apply(payment, target, amount, user=user, date=plan.line.booking_date)
    if plan.write_off is None:
        return None
    target = targets[plan.write_off.target_id]
    return write_offs.write_off_locked(
        customers[target.customer_id],
        target,
        Money(plan.write_off.amount_minor, plan.line.currency),
        plan.write_off.reason,
        kind=write_offs.SHORT_PAYMENT,
        user=user,
        date=plan.line.booking_date,
    )


def _remember_payers(plans: list[Plan]) -> None:
    """A line that paid one customer teaches matching the payer's account."""
    known = [
        PayerAccount(iban=iban, customer_id=plan.customers()[0], first_line=plan.line)
        for plan in plans
        if len(plan.customers()) == 1 and (iban := evidence.valid_iban(plan.line.iban))
    ]
    PayerAccount.objects.bulk_create(known, ignore_conflicts=True)


def line_state(line: BankLine) -> dict:
    return audit.snapshot(line, ("status", "amount_minor", "currency", "ignore_reason", "write_off"))


def settle(
    plans: list[Plan], customers: dict[int, Customer], targets: dict[int, Document], *, user: object = None
) -> None:
    """Record, apply and mark every plan's line matched; a refused allocation refuses them all."""
    if not plans:
        return
    payments = _payments(plans, customers, user)
    now, who = timezone.now(), audit.person(user)
    changes, links, by_line = [], [], defaultdict(list)
    for (line_id, _), payment in payments.items():
        by_line[line_id].append(payment)
    for plan in plans:
        line, before = plan.line, line_state(plan.line)
        written_off = _apply(plan, payments, customers, targets, user)
        line.status, line.decided_at, line.decided_by = LineStatus.MATCHED, now, who
        line.write_off, line.ignore_reason = written_off, ""
        links += [LinePayment(line=line, payment=payment) for payment in by_line[line.pk]]
        after = {**line_state(line), "payments": [payment.number for payment in by_line[line.pk]]}
        changes.append(audit.Change("bank_line.match", line, before, after, label=f"bank line {line.pk}"))
    save_lines(
        [plan.line for plan in plans],
        ("status", "suggestions", "decided_at", "decided_by", "write_off", "ignore_reason"),
    )
    rows.insert_many(links)
    _remember_payers(plans)
    audit.record_many(changes, user=user)
