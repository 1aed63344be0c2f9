"""What a person decides about a bank line: match it (a suggestion, or invoices they picked, split
over several invoices and customers, the rest on account, a short payment's rest written off),
ignore it with a reason, or unmatch it (its payments and allocations reversed).

Each decision is one transaction that locks the line's row first, so two people deciding the
same line at once queue: the second finds it decided and gets 409, and no line is paid twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from receivables.banking import settling, write_offs
from receivables.banking.models import BankLine, Direction, LinePayment, LineStatus
from receivables.core import audit, inputs, rows
from receivables.core.errors import Conflict, NotFound, ReceivablesError
from receivables.customers.models import Customer
from receivables.documents import services as documents
from receivables.documents.models import Document, DocumentType, Status
from receivables.rules.write_off import tolerance_minor


@dataclass(frozen=True)
class Pick:
    """One allocation a person chose: a target document and the amount, as text from the form or the API."""

    target: object
    amount: object


@dataclass(frozen=True)
class WriteOffPick:
    amount: object
    reason: object


def lock_line(line_id: int) -> BankLine:
    found = settling.lock_lines([line_id]) if rows.storable(line_id) else []
    line = found[0] if found else None
    if line is None:
        raise NotFound("bank_line", line_id, "id")
    return line


def _customer_of(target_ids: Sequence[int]) -> dict[int, int]:
    found = dict(Document.objects.filter(pk__in=target_ids).values_list("id", "customer_id"))
    for index, ident in enumerate(target_ids):
        if ident not in found:
            raise NotFound("document", ident, f"allocations[{index}].target")
    return found


def _shares(line: BankLine, picks: Sequence[Pick], owner: dict[int, int]) -> list[settling.Share]:
    shares = []
    for index, pick in enumerate(picks):
        target = inputs.identifier(pick.target, f"allocations[{index}].target")
        amount = inputs.money(pick.amount, line.currency, f"allocations[{index}].amount")
        shares.append(settling.Share(owner[target], target, amount.minor))
    if sum(share.amount_minor for share in shares) > line.amount_minor:
        raise ReceivablesError("exceeds_line", "the allocations add up to more than the line", "allocations")
    return shares


def _rest(line: BankLine, shares: list[settling.Share], customer_id: int | None) -> list[settling.Share]:
    """What the allocations leave stays on account: with the customer named, else the only one paid."""
    rest = line.amount_minor - sum(share.amount_minor for share in shares)
    paid = list(dict.fromkeys(share.customer_id for share in shares))
    if customer_id is None and len(paid) == 1:
        customer_id = paid[0]
    if rest == 0:
        return shares
    if customer_id is None:
        raise ReceivablesError("customer_required", "name the customer whose account keeps the rest", "customer")
    return [*shares, settling.Share(customer_id, None, rest)]


def _write_off(line: BankLine, pick: WriteOffPick | None, shares: list[settling.Share]) -> settling.WriteOff | None:
    if pick is None:
        return None
    amount = inputs.money(pick.amount, line.currency, "write_off.amount")
    if amount.minor > tolerance_minor(settings.WRITE_OFF_TOLERANCE, line.currency):
        raise ReceivablesError(
            "write_off_above_tolerance", "more than WRITE_OFF_TOLERANCE; use POST /write-offs", "write_off.amount"
        )
    targets = list(dict.fromkeys(share.target_id for share in shares if share.target_id is not None))
    if len(targets) != 1:
        raise ReceivablesError("write_off_target", "a write-off goes with exactly one invoice", "write_off")
    reason = inputs.text(pick.reason, "write_off.reason", max_length=200)
    return settling.WriteOff(targets[0], amount.minor, reason)


def _check_customers(line: BankLine, customers: dict[int, Customer], plan: settling.Plan) -> None:
    for ident in plan.customers():
        customer = customers.get(ident)
        if customer is None:
            raise NotFound("customer", ident, "customer")
        if customer.currency != line.currency:
            raise ReceivablesError("currency_mismatch", f"the line is in {line.currency}", "customer")


def _check_open(line: BankLine) -> None:
    if line.direction != Direction.CREDIT:
        raise Conflict("line_is_debit", "money out is not matched to invoices", "id")
    if line.status == LineStatus.MATCHED:
        raise Conflict("line_already_matched", "the line is matched already; unmatch it first", "id")


@transaction.atomic
def match_line(
    line_id: int,
    picks: Sequence[Pick],
    *,
    customer: object = None,
    write_off: WriteOffPick | None = None,
    user: object = None,
) -> BankLine:
    """Settle a line as a person chose: allocations, the rest on account, an optional short-payment write-off."""
    line = lock_line(line_id)
    _check_open(line)
    targets = [inputs.identifier(pick.target, f"allocations[{i}].target") for i, pick in enumerate(picks)]
    if len(set(targets)) != len(targets):
        raise ReceivablesError("duplicate_target", "name each document once", "allocations")
    customer_id = inputs.identifier(customer, "customer") if customer not in (None, "") else None
    if not picks and customer_id is None:
        raise ReceivablesError("required", "choose invoices, or a customer to keep the money on account", "allocations")
    shares = _shares(line, picks, _customer_of(targets))
    plan = settling.Plan(line, tuple(_rest(line, shares, customer_id)), _write_off(line, write_off, shares))
    customers, documents_by_id = settling.lock([plan])
    _check_customers(line, customers, plan)
    for index, target in enumerate(targets):
        if documents_by_id[target].type not in write_offs.TARGET_TYPES:
            field = f"allocations[{index}].target"
            raise ReceivablesError("not_a_debit", "the target must be an invoice or a debit memo", field)
    settling.settle([plan], customers, documents_by_id, user=user)
    return line


@transaction.atomic
def ignore_line(line_id: int, reason: object, *, user: object = None) -> BankLine:
    line = lock_line(line_id)
    if line.status == LineStatus.MATCHED:
        raise Conflict("line_already_matched", "the line is matched; unmatch it first", "id")
    text = inputs.text(reason, "reason", max_length=200)
    before = settling.line_state(line)
    _decided(line, LineStatus.IGNORED, user, ignore_reason=text)
    audit.record("bank_line.ignore", line, before=before, after=settling.line_state(line), user=user, comment=text)
    return line


def _decided(line: BankLine, status: str, user: object, **fields: object) -> None:
    values = {"status": status, "decided_at": timezone.now(), "decided_by": audit.person(user), **fields}
    BankLine.objects.filter(pk=line.pk).update(**values)
    for name, value in values.items():
        setattr(line, name, value)


def _reverse_payment(payment_id: int, memo: str, user: object) -> str:
    customer, payment = documents.lock_with_customer(payment_id, "payment")
    live = list(
        payment.allocations_out.filter(reversal_of__isnull=True, reversed_by__isnull=True).select_related("target")
    )
    if any(allocation.target.type == DocumentType.REFUND for allocation in live):
        raise Conflict("payment_refunded", f"{payment.number} was refunded; cancel the refund first", "id")
    for allocation in live:
        documents.undo_allocation(allocation, user=user)
    payment.refresh_from_db()
    documents.withdraw(customer, payment, "void", user=user, memo=memo)
    return payment.number


def _take_back_write_off(line: BankLine, memo: str, user: object) -> None:
    if line.write_off_id is None:
        return
    customer, write_off = documents.lock_with_customer(line.write_off_id, "write_off")
    if write_off.status != Status.CANCELLED:
        write_offs.withdraw_locked(customer, write_off, memo, user=user)


@transaction.atomic
def unmatch_line(line_id: int, *, user: object = None) -> BankLine:
    """Reverse a matched line's payments, their allocations and its write-off; an ignored line is reopened."""
    line = lock_line(line_id)
    if line.status not in (LineStatus.MATCHED, LineStatus.IGNORED) or line.direction != Direction.CREDIT:
        raise Conflict("line_not_decided", f"the line is {line.status}; there is nothing to undo", "id")
    before = settling.line_state(line)
    memo = f"bank line {line.pk} unmatched"
    links = list(LinePayment.objects.filter(line=line, undone_at__isnull=True).select_related("payment"))
    rows.lock(Customer, {link.payment.customer_id for link in links})  # all of them first, in id order
    reversed_numbers = [_reverse_payment(link.payment_id, memo, user) for link in links]
    _take_back_write_off(line, memo, user)
    LinePayment.objects.filter(pk__in=[link.pk for link in links]).update(undone_at=timezone.now())
    status = LineStatus.SUGGESTED if line.suggestions else LineStatus.UNMATCHED
    _decided(line, status, user, ignore_reason="", write_off=None)
    after = {**settling.line_state(line), "reversed": reversed_numbers}
    audit.record("bank_line.unmatch", line, before=before, after=after, user=user)
    return line
