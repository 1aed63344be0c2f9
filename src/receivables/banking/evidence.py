"""What the book says about a chunk of bank lines: the facts ``rules.matching`` scores.

Every lookup is indexed and made once per chunk, not once per line: documents and customers
by number, payer accounts by IBAN, open invoices by exact amount (the partial index
``document_open_amount``), customers by name as the bank wrote it, then the open invoices of
every customer a line could be from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from receivables.banking.models import BankLine, PayerAccount
from receivables.core.numbering import SERIES
from receivables.customers.models import Customer
from receivables.documents.models import Document, DocumentType, Status
from receivables.rules import matching as rules

DEBIT_TYPES = (DocumentType.INVOICE, DocumentType.DEBIT_MEMO)
DEBIT_PREFIXES = (SERIES["invoice"], SERIES["debit_memo"])
CUSTOMER_PREFIXES = (SERIES["customer"],)
# An amount more invoices owe than this says nothing about who paid.
AMOUNT_CANDIDATES = rules.SHOWN
# A payer's oldest open invoices that matching considers (the ones a reference names always count).
INVOICES_PER_PAYER = 50


def valid_iban(text: str) -> str:
    """The IBAN in its compact form when ``schwifty`` finds it valid (checksum, country, length), else ""."""
    if not text:
        return ""
    try:
        return str(IBAN(text).compact)
    except (SchwiftyException, ValueError):
        return ""


@dataclass(frozen=True)
class _Named:
    invoices: dict[int, rules.OpenInvoice]  # open invoices named in references, by id
    invoice_by_number: dict[str, tuple[int, int, bool]]  # number -> (id, customer, open)
    customer_by_number: dict[str, int]


@dataclass
class _Said:
    """What one line's words point at, before the payers are read."""

    invoice_ids: set[int]
    customer_ids: set[int]
    iban_customers: set[int]
    amount_invoice_ids: set[int]
    # Customers a name, a named (even closed) invoice or an exact amount points at.
    pointed_at: set[int]

    @property
    def candidates(self) -> set[int]:
        return self.customer_ids | self.iban_customers | self.pointed_at


def _numbers(lines: list[BankLine]) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    invoices = {line.pk: rules.numbers_in(line.reference, DEBIT_PREFIXES) for line in lines}
    customers = {line.pk: rules.numbers_in(line.reference, CUSTOMER_PREFIXES) for line in lines}
    return invoices, customers


def _named(invoice_numbers: Iterable[str], customer_numbers: Iterable[str], currency: str) -> _Named:
    # By number alone, the unique index; with the type and currency in the query SQLite chose a
    # wider index and read thousands of rows per number.
    found = Document.objects.filter(number__in=set(invoice_numbers)).values_list(
        "id", "number", "customer_id", "outstanding_minor", "status", "type", "currency"
    )
    by_number, open_ones = {}, {}
    for ident, number, customer, outstanding, status, kind, in_currency in found:
        if kind not in DEBIT_TYPES or in_currency != currency:
            continue
        is_open = status == Status.OPEN and outstanding > 0
        by_number[number] = (ident, customer, is_open)
        if is_open:
            open_ones[ident] = rules.OpenInvoice(ident, number, customer, outstanding)
    people = Customer.objects.filter(number__in=set(customer_numbers)).values_list("number", "id", "currency")
    customers = {number: ident for number, ident, in_currency in people if in_currency == currency}
    return _Named(open_ones, by_number, customers)


def _iban_customers(lines: list[BankLine]) -> dict[str, set[int]]:
    ibans = {valid_iban(line.iban) for line in lines} - {""}
    known: dict[str, set[int]] = defaultdict(set)
    for iban, customer in PayerAccount.objects.filter(iban__in=ibans).values_list("iban", "customer_id"):
        known[iban].add(customer)
    return known


# Status and types are written into the statement, not bound: SQLite uses the partial index
# document_open_amount only when the query's condition is literally the index's own.
_OWING = (
    "SELECT outstanding_minor, id, customer_id FROM ("  # noqa: S608 - only placeholders are filled in
    " SELECT outstanding_minor, id, customer_id,"
    " ROW_NUMBER() OVER (PARTITION BY outstanding_minor ORDER BY id) AS place"
    f" FROM {Document._meta.db_table} WHERE currency = %s AND outstanding_minor IN ({{amounts}})"
    " AND status = 'open' AND type IN ('invoice', 'debit_memo')"
    ") AS owing WHERE place <= %s"
)


def _amount_invoices(amounts: Iterable[int], currency: str) -> dict[int, list[tuple[int, int]]]:
    """Open invoices owing exactly each amount: (id, customer), at most one more than is worth showing."""
    wanted = sorted(set(amounts))
    found: dict[int, list[tuple[int, int]]] = defaultdict(list)
    if not wanted:
        return found
    with connection.cursor() as cursor:
        cursor.execute(
            _OWING.format(amounts=", ".join(["%s"] * len(wanted))), [currency, *wanted, AMOUNT_CANDIDATES + 1]
        )
        for amount, ident, customer in cursor.fetchall():
            found[amount].append((ident, customer))
    return found


def _name_variants(name: str) -> set[str]:
    plain = " ".join(name.split())
    return {plain, plain.title(), plain.upper(), plain.lower()} - {""}


def _customers_named(lines: list[BankLine], currency: str) -> dict[str, set[int]]:
    wanted = {variant for line in lines for variant in _name_variants(line.counterparty)}
    by_name: dict[str, set[int]] = defaultdict(set)
    for ident, name in Customer.objects.filter(name__in=wanted, currency=currency).values_list("id", "name"):
        by_name[" ".join(name.split()).lower()].add(ident)
    return by_name


def _payers(customer_ids: set[int], kept: set[int]) -> dict[int, rules.Payer]:
    people = Customer.objects.filter(pk__in=customer_ids).values_list("id", "number", "name")
    invoices: dict[int, list[rules.OpenInvoice]] = defaultdict(list)
    open_ones = (
        Document.objects.filter(customer_id__in=customer_ids, status=Status.OPEN, type__in=DEBIT_TYPES)
        .filter(outstanding_minor__gt=0)
        .order_by("customer_id", "date", "id")
        .values_list("id", "number", "customer_id", "outstanding_minor")
    )
    for ident, number, customer, outstanding in open_ones.iterator(2000):
        if len(invoices[customer]) < INVOICES_PER_PAYER or ident in kept:
            invoices[customer].append(rules.OpenInvoice(ident, number, customer, outstanding))
    return {ident: rules.Payer(ident, number, name, tuple(invoices[ident])) for ident, number, name in people}


def _said(line: BankLine, numbers: tuple[list[str], list[str]], named: _Named, lookups: tuple) -> _Said:
    ibans, amounts, names = lookups
    invoice_numbers, customer_numbers = numbers
    invoice_ids = {named.invoice_by_number[n][0] for n in invoice_numbers if n in named.invoice_by_number}
    owing = amounts.get(line.amount_minor, [])
    if len(owing) > AMOUNT_CANDIDATES:
        owing = []
    # A closed invoice named in the reference still says who paid.
    customers = {named.invoice_by_number[n][1] for n in invoice_numbers if n in named.invoice_by_number}
    customers |= {named.customer_by_number[n] for n in customer_numbers if n in named.customer_by_number}
    said = _Said(
        invoice_ids={ident for ident in invoice_ids if ident in named.invoices},
        customer_ids={named.customer_by_number[n] for n in customer_numbers if n in named.customer_by_number},
        iban_customers=set(ibans.get(valid_iban(line.iban), set())),
        amount_invoice_ids={ident for ident, _ in owing},
        pointed_at=set(names.get(" ".join(line.counterparty.split()).lower(), set())),
    )
    said.pointed_at |= customers | {customer for _, customer in owing}
    return said


def facts_for(lines: list[BankLine], currency: str, tolerance_minor: int) -> dict[int, rules.Facts]:
    """The facts about each line of a chunk (all lines in one currency), by line id."""
    invoice_numbers, customer_numbers = _numbers(lines)
    named = _named(
        (n for ns in invoice_numbers.values() for n in ns),
        (n for ns in customer_numbers.values() for n in ns),
        currency,
    )
    lookups = (
        _iban_customers(lines),
        _amount_invoices((line.amount_minor for line in lines), currency),
        _customers_named(lines, currency),
    )
    said = {
        line.pk: _said(line, (invoice_numbers[line.pk], customer_numbers[line.pk]), named, lookups) for line in lines
    }
    wanted = set().union(*(s.candidates for s in said.values())) if said else set()
    kept = set(named.invoices).union(*(s.amount_invoice_ids for s in said.values()))
    payers = _payers(wanted, kept)
    return {
        ident: rules.Facts(
            payers=tuple(payers[c] for c in sorted(s.candidates) if c in payers),
            invoice_ids=frozenset(s.invoice_ids),
            customer_ids=frozenset(s.customer_ids),
            iban_customers=frozenset(s.iban_customers),
            tolerance_minor=tolerance_minor,
        )
        for ident, s in said.items()
    }
