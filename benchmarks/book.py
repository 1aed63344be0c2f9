"""A realistic receivables book, generated fast and streamed, reproducible from a seed.

``generate(customers, documents, seed)`` writes customers, invoices (with a line), payments,
credit notes, allocations and refunds (held or paid), with exactly the rows the services
would write: the document, its lines, its balanced journal entry (a paid refund has two), its
``<type>.create`` audit record (and ``refund.refunded``), each allocation with its
``allocation.create`` record, gapless numbers from the series, and every customer's balance.
``receivables.core.checks.verify()`` holds over the result.

Rows are written in batches by the fastest plain way the database has: COPY on PostgreSQL,
``executemany`` on SQLite, one transaction per batch. Only one customer's documents and one
batch of rows are in memory at a time. Each customer draws from its own random stream
(seeded by the seed and its index), so the book does not depend on the batch size.

``BookWriter`` is also the "database's limit" of the posting benchmark: the same rows, written
in bulk.
"""

from __future__ import annotations

import datetime
import json
import random
from collections import deque
from dataclasses import dataclass, field

ACCOUNTS_RECEIVABLE, SALES, SALES_RETURNS, VAT, REFUNDS_PAYABLE = "1100", "4000", "4100", "2100", "2200"
FIRST_DAY = datetime.date(2023, 1, 1)
DAYS = 1095  # three years of history
AUDITED = (
    "type",
    "number",
    "customer",
    "date",
    "currency",
    "total_minor",
    "outstanding_minor",
    "status",
    "bank_account",
    "previous_transaction",
    "source",
    "failure_reason",
)
TABLES: dict[str, tuple[str, ...]] = {
    "customers_customer": (
        "id",
        "number",
        "name",
        "initial",
        "email",
        "currency",
        "auto_apply",
        "credit_limit_minor",
        "payment_terms_days",
        "balance_minor",
        "created_at",
    ),
    "documents_document": (
        "id",
        "type",
        "number",
        "customer_id",
        "date",
        "currency",
        "net_minor",
        "tax_minor",
        "total_minor",
        "outstanding_minor",
        "status",
        "reason",
        "description",
        "method",
        "due_date",
        "bank_account_id",
        "source_id",
        "standalone",
        "failure_reason",
        "processed_at",
        "created_at",
    ),
    "documents_documentline": (
        "id",
        "document_id",
        "position",
        "description",
        "quantity",
        "unit_price",
        "tax_rate",
        "net_minor",
        "tax_minor",
    ),
    "documents_allocation": ("id", "source_id", "target_id", "amount_minor", "date", "created_at"),
    "ledger_journalentry": ("id", "date", "memo", "currency", "document_id", "created_at"),
    "ledger_posting": ("id", "entry_id", "account_id", "currency", "debit_minor", "credit_minor"),
    "core_auditentry": (
        "id",
        "at",
        "actor_name",
        "via",
        "request_id",
        "client_address",
        "action",
        "object_type",
        "object_id",
        "object_label",
        "before",
        "after",
        "comment",
    ),
}
SERIES = {"customer": "CUS-", "invoice": "INV-", "payment": "PAY-", "credit_note": "CRN-", "refund": "RFD-"}


@dataclass
class Doc:
    """A document while its customer's stream runs; written once its O/S is final."""

    id: int
    type: str
    number: str
    date: datetime.date
    total: int
    net: int
    tax: int = 0
    outstanding: int = 0
    status: str = "open"
    extra: dict = field(default_factory=dict)


class BookWriter:
    """Builds the rows of documents in memory buffers and writes them in bulk."""

    def __init__(self, connection: object, bank_id: int, bank_code: str, accounts: dict[str, int]) -> None:
        self.connection = connection
        self.postgres = connection.vendor == "postgresql"
        self.bank_id, self.bank_code, self.accounts = bank_id, bank_code, accounts
        self.rows: dict[str, list[tuple]] = {table: [] for table in TABLES}
        self.next_id = {table: self._max_id(table) + 1 for table in TABLES}
        self.numbers = self._sequences()
        self.used_series: set[str] = set(SERIES)
        # Plain UPDATEs that go with the rows (a customer's balance, a source's O/S): (sql with %s, params).
        self.updates: list[tuple[str, tuple]] = []
        self.documents_written = 0

    # ids, numbers, timestamps ------------------------------------------------------------

    def _max_id(self, table: str) -> int:
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 - our own table names
            return int(cursor.fetchone()[0])

    def _sequences(self) -> dict[str, int]:
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT series, next_value FROM core_sequence")
            found = dict(cursor.fetchall())
        return {series: int(found.get(series, 1)) for series in SERIES}

    def _id(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value

    def number(self, series: str) -> str:
        value = self.numbers[series]
        self.numbers[series] = value + 1
        self.used_series.add(series)
        return f"{SERIES[series]}{value:06d}"

    def stamp(self, day: datetime.date) -> str:
        return f"{day.isoformat()} 12:00:00" + ("+00" if self.postgres else "")

    # rows --------------------------------------------------------------------------------

    def add_customer(self, ident: int, number: str, name: str, balance: int, day: datetime.date) -> None:
        initial = name[:1].upper() if "A" <= name[:1].upper() <= "Z" else "#"
        email = f"{number.lower()}@example.com"
        row = (ident, number, name, initial, email, "GBP", False, 0, 30, balance, self.stamp(day))
        self.rows["customers_customer"].append(row)
        snapshot = {
            "number": number,
            "name": name,
            "email": email,
            "currency": "GBP",
            "auto_apply": False,
            "credit_limit_minor": 0,
            "payment_terms_days": 30,
        }
        self.audit("customer.create", "customer", ident, f"{number} {name}", None, json.dumps(snapshot), day)

    def audit(self, action: str, kind: str, ident: int, label: str, before: str | None, after: str, day) -> None:  # noqa: ANN001
        """``core.audit.record`` by the system; ``before`` and ``after`` are JSON text."""
        row = (self._id("core_auditentry"), self.stamp(day), "system", "system", "", "", action, kind)
        self.rows["core_auditentry"].append((*row, str(ident), label[:60], before, after, ""))

    def new_document(self, doc_type: str, day: datetime.date, net: int, tax: int = 0, **extra: object) -> Doc:
        total = net + tax
        ident = self._id("documents_document")
        return Doc(ident, doc_type, self.number(doc_type), day, total, net, tax, total, "open", dict(extra))

    def snapshot(self, doc: Doc, customer_id: int, *, outstanding: int, status: str) -> str:
        """``documents.services.audited(document)`` as JSON text (an f-string: json.dumps is the slow part)."""
        bank, source = doc.extra.get("bank_account_id"), doc.extra.get("source_id")
        return (
            f'{{"type": "{doc.type}", "number": "{doc.number}", "customer": {customer_id}, '
            f'"date": "{doc.date.isoformat()}", "currency": "GBP", "total_minor": {doc.total}, '
            f'"outstanding_minor": {outstanding}, "status": "{status}", '
            f'"bank_account": {"null" if bank is None else bank}, "previous_transaction": null, '
            f'"source": {"null" if source is None else source}, "failure_reason": ""}}'
        )

    def created(self, doc: Doc, customer_id: int, customer_number: str) -> None:
        """The journal entry and audit record a service writes when it issues ``doc``."""
        status = "hold" if doc.type == "refund" else "open"
        after = self.snapshot(doc, customer_id, outstanding=doc.total, status=status)
        self.audit(f"{doc.type}.create", "document", doc.id, doc.number, None, after, doc.date)
        total, net, tax, bank = doc.total, doc.net, doc.tax, self.bank_code
        legs = {
            "invoice": [(ACCOUNTS_RECEIVABLE, total, 0), (SALES, 0, net), (VAT, 0, tax)],
            "payment": [(bank, total, 0), (ACCOUNTS_RECEIVABLE, 0, total)],
            "credit_note": [(SALES_RETURNS, net, 0), (VAT, tax, 0), (ACCOUNTS_RECEIVABLE, 0, total)],
            "refund": [(ACCOUNTS_RECEIVABLE, total, 0), (REFUNDS_PAYABLE, 0, total)],
        }[doc.type]
        self.entry(doc, f"{doc.number} {customer_number}", legs)

    def entry(self, doc: Doc, memo: str, legs: list[tuple[str, int, int]]) -> None:
        entry_id = self._id("ledger_journalentry")
        self.rows["ledger_journalentry"].append(
            (entry_id, doc.date.isoformat(), memo, "GBP", doc.id, self.stamp(doc.date))
        )
        postings = self.rows["ledger_posting"]
        for code, debit, credit in legs:
            if debit or credit:  # rules.posting.balanced drops zero legs
                postings.append((self._id("ledger_posting"), entry_id, self.accounts[code], "GBP", debit, credit))

    def lines(self, doc: Doc, lines: list[tuple[str, str, str, str, int, int]]) -> None:
        for position, (description, quantity, price, rate, net, tax) in enumerate(lines, start=1):
            row = (self._id("documents_documentline"), doc.id, position, description, quantity, price, rate, net, tax)
            self.rows["documents_documentline"].append(row)

    def allocate(self, source: Doc, target: Doc, amount: int) -> None:
        """``documents.services.apply``: the allocation, both O/S moved, its audit record."""
        ident = self._id("documents_allocation")
        day = max(source.date, target.date)
        row = (ident, source.id, target.id, amount, day.isoformat(), self.stamp(day))
        self.rows["documents_allocation"].append(row)
        for doc in (source, target):
            doc.outstanding -= amount
            if doc.status in ("open", "closed"):
                doc.status = "open" if doc.outstanding else "closed"
        after = (
            f'{{"source": {source.id}, "target": {target.id}, "amount_minor": {amount}, '
            f'"date": "{day.isoformat()}", "reversal_of": null}}'
        )
        label = f"{source.number} → {target.number}"
        self.audit("allocation.create", "allocation", ident, label, None, after, day)

    def pay_refund(self, refund: Doc, customer_id: int) -> None:
        """``refunds.services._mark_paid`` for a bank refund: status, audit record, second entry."""
        before = self.snapshot(refund, customer_id, outstanding=refund.outstanding, status="hold")
        refund.status = "refunded"
        refund.extra["processed_at"] = self.stamp(refund.date)
        after = self.snapshot(refund, customer_id, outstanding=refund.outstanding, status="refunded")
        self.audit("refund.refunded", "document", refund.id, refund.number, before, after, refund.date)
        legs = [(REFUNDS_PAYABLE, refund.total, 0), (self.bank_code, 0, refund.total)]
        self.entry(refund, f"{refund.number} paid", legs)

    def document_row(self, doc: Doc, customer_id: int) -> None:
        e = doc.extra
        self.rows["documents_document"].append(
            (
                doc.id,
                doc.type,
                doc.number,
                customer_id,
                doc.date.isoformat(),
                "GBP",
                doc.net,
                doc.tax,
                doc.total,
                doc.outstanding,
                doc.status,
                e.get("reason", ""),
                e.get("description", ""),
                e.get("method", ""),
                e["due_date"].isoformat() if "due_date" in e else None,
                e.get("bank_account_id"),
                e.get("source_id"),
                False,
                "",
                e.get("processed_at"),
                self.stamp(doc.date),
            )
        )
        self.documents_written += 1

    # writing -----------------------------------------------------------------------------

    def pending(self) -> int:
        return sum(len(rows) for rows in self.rows.values())

    def flush(self, *, bulk: bool = True) -> None:
        """Write every buffered row in one transaction.

        ``bulk``: COPY on PostgreSQL; otherwise (and always on SQLite) one ``executemany`` per table.
        """
        from django.db import transaction

        mark = "%s" if self.postgres else "?"
        with transaction.atomic(using=self.connection.alias):
            raw = self.connection.connection.cursor()
            for table, columns in TABLES.items():
                rows = self.rows[table]
                if not rows:
                    continue
                if self.postgres and bulk:
                    with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    marks = ", ".join([mark] * len(columns))
                    raw.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)  # noqa: S608
                rows.clear()
            for sql, params in self.updates:
                raw.execute(sql.replace("%s", mark), params)
            self.updates.clear()
            self.save_sequences(raw)

    def save_sequences(self, raw: object) -> None:
        mark = "%s" if self.postgres else "?"
        for series in sorted(self.used_series):
            raw.execute(
                f"INSERT INTO core_sequence (series, prefix, next_value) VALUES ({mark}, {mark}, {mark}) "  # noqa: S608
                "ON CONFLICT (series) DO UPDATE SET next_value = excluded.next_value",
                (series, SERIES[series], self.numbers[series]),
            )
        self.used_series.clear()

    def finish(self) -> None:
        """After writing ids by hand: move PostgreSQL's id sequences past them."""
        if not self.postgres:
            return
        with self.connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                )


# The story of one customer -------------------------------------------------------------------


def customer_story(writer: BookWriter, index: int, count: int, seed: int, name: str) -> int:
    """One customer's documents over three years, oldest first; returns the customer's id."""
    rng = random.Random(f"{seed}-{index}")
    number = writer.number("customer")
    first = FIRST_DAY + datetime.timedelta(days=rng.randrange(30))
    # The audit snapshots need the customer's id before its row (with the final balance) is written.
    customer_id = writer._id("customers_customer")
    docs: list[Doc] = []
    open_debits: deque[Doc] = deque()
    open_credits: deque[Doc] = deque()
    balance = 0

    def issue(doc: Doc) -> Doc:
        docs.append(doc)
        writer.created(doc, customer_id, number)
        return doc

    def settle(credit: Doc, limit: int | None = None) -> None:
        """Auto-apply: the credit pays open invoices oldest first."""
        budget = credit.outstanding if limit is None else min(limit, credit.outstanding)
        while budget and open_debits:
            debit = open_debits[0]
            share = min(budget, debit.outstanding)
            writer.allocate(credit, debit, share)
            budget -= share
            if debit.outstanding == 0:
                open_debits.popleft()

    for i in range(count):
        day = first + datetime.timedelta(days=i * (DAYS - 30) // max(count, 1))
        draw = rng.random()
        while open_credits and open_credits[0].outstanding == 0:
            open_credits.popleft()
        if draw < 0.06 and open_credits:
            credit = open_credits[0]
            amount = credit.outstanding if rng.random() < 0.7 else max(1, credit.outstanding // 2)
            refund = issue(
                writer.new_document(
                    "refund",
                    day,
                    amount,
                    source_id=credit.id,
                    bank_account_id=writer.bank_id,
                    description=f"Refund of {credit.number}",
                )
            )
            refund.status = "hold"
            writer.allocate(credit, refund, amount)
            if rng.random() < 0.8:
                writer.pay_refund(refund, customer_id)
            balance += amount
        elif draw < 0.16:
            credit = issue(writer.new_document("credit_note", day, rng.randrange(500, 20000), reason="goodwill"))
            balance -= credit.total
            if rng.random() < 0.5:
                settle(credit, credit.total)
            if credit.outstanding:
                open_credits.append(credit)
        elif draw < 0.50:
            owed = open_debits[0].outstanding if open_debits else 0
            exact = owed and rng.random() < 0.6
            amount = owed if exact else rng.randrange(1000, 100000)
            payment = issue(
                writer.new_document("payment", day, amount, method="bank_transfer", bank_account_id=writer.bank_id)
            )
            balance -= amount
            if rng.random() < 0.8:
                settle(payment)
            if payment.outstanding:
                open_credits.append(payment)
        else:
            net = rng.randrange(1000, 90000)
            tax = (net * 20 + 50) // 100  # 20 % VAT, half-up, as rules.invoicing rounds
            invoice = issue(
                writer.new_document(
                    "invoice", day, net, tax, description="", due_date=day + datetime.timedelta(days=30)
                )
            )
            price = f"{net // 100}.{net % 100:02d}"
            writer.lines(invoice, [("Hosting and support", "1", price, "20", net, tax)])
            open_debits.append(invoice)
            balance += invoice.total
            # The clerk allocates unapplied cash and credit to the new invoice, as auto-apply would.
            while open_credits and open_debits and rng.random() < 0.3:
                credit = open_credits[0]
                settle(credit)
                if credit.outstanding == 0:
                    open_credits.popleft()
                else:
                    break
    writer.add_customer(customer_id, number, name, balance, first)
    for doc in docs:
        writer.document_row(doc, customer_id)
    return customer_id


NAMES_FIRST = ("Ada", "Ben", "Cleo", "Dev", "Esme", "Finn", "Grace", "Hugo", "Iris", "Jack", "Kai", "Lena", "Milo")
NAMES_LAST = ("Archer", "Brook", "Carter", "Dale", "Ellis", "Fox", "Grey", "Hale", "Ives", "Jones", "Knight", "Lane")


def customer_name(index: int) -> str:
    if index == 0:
        return "Big Account Trading Ltd"
    first = NAMES_FIRST[index % len(NAMES_FIRST)]
    last = NAMES_LAST[(index // len(NAMES_FIRST)) % len(NAMES_LAST)]
    return f"{first} {last} {index}"


def plan(customers: int, documents: int, big: int) -> list[int]:
    """Documents per customer: the first has ``big``; the rest share what is left evenly."""
    rest = documents - big
    share, extra = divmod(rest, customers - 1)
    return [big] + [share + (1 if i < extra else 0) for i in range(customers - 1)]


def generate(customers: int, documents: int, big: int, seed: int = 7, batch_rows: int = 200_000) -> dict:
    """Write the book into the database of Django's default connection; returns what it wrote."""
    from django.db import connection

    from receivables.core.models import AuditEntry
    from receivables.customers import services as customer_services
    from receivables.customers.models import BankAccount
    from receivables.ledger.models import Account
    from receivables.ledger.services import ensure_chart

    ensure_chart()
    bank = BankAccount.objects.filter(currency="GBP", is_default=True).select_related("ledger_account").first()
    if bank is None:
        bank = customer_services.create_bank_account(name="Main GBP", currency="GBP", is_default=True)
    accounts = dict(Account.objects.values_list("code", "id"))
    writer = BookWriter(connection, bank.pk, bank.ledger_account.code, accounts)
    _fast_load(connection, on=True)
    ids = []
    try:
        for index, count in enumerate(plan(customers, documents, big)):
            ids.append(customer_story(writer, index, count, seed, customer_name(index)))
            if writer.pending() >= batch_rows:
                writer.flush()
        writer.flush()
        writer.finish()
    finally:
        _fast_load(connection, on=False)
    return {
        "customers": customers,
        "documents": writer.documents_written,
        "big_customer": ids[0],
        "customer_ids": ids[1:200],
        "audit_rows": AuditEntry.objects.count(),
    }


def _fast_load(connection: object, *, on: bool) -> None:
    """A bulk load's usual switches: no per-row foreign-key triggers, no fsync per batch on SQLite.

    The foreign keys are checked afterwards all the same: ``ledger verify`` runs over the book.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SET session_replication_role = {'replica' if on else 'DEFAULT'}")
        else:
            cursor.execute(f"PRAGMA foreign_keys = {'OFF' if on else 'ON'}")
            cursor.execute(f"PRAGMA synchronous = {'OFF' if on else 'NORMAL'}")
