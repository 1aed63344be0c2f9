"""Proof at scale (issue 7), one database per child process: the book, posting beside the limit, reads, verify.

    .venv/bin/python benchmarks/bench_scale.py --database sqlite --customers 1000 --documents 100000

Usually run by ``benchmarks/run_all.py``. The child:

1. generates the book (``book.generate``: customers, invoices, payments, credit notes,
   allocations, refunds, with their entries, audit records and numbers) in bulk;
2. posts ``--count`` documents of each kind through the services (invoice with 3 lines,
   payment, credit note, refund), each its own transaction, and the same rows by the plain
   way: one transaction per document with ``executemany`` per table ("per-transaction limit"),
   and all of them in one transaction by COPY / ``executemany`` ("bulk limit"). The three run
   in turns, in rounds, so that a change in the machine's load falls on all of them;
3. times the reads through the API (Django's test client): one customer's balance, statement
   pages, whole-year statement, refundables and ageing, for the busiest customer and for a
   typical one; the trial balance and aged receivables of the whole book;
4. runs ``receivables ledger verify`` in its own process, for its time and peak memory.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, database_version, latency, peak_rss_mib, progress, setup_django, timed  # noqa: E402

KINDS = ("invoice (3 lines)", "payment", "credit note", "refund")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=20_000, help="documents of the busiest customer")
    parser.add_argument("--count", type=int, default=400, help="documents of each kind per posting measurement")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    result: dict = {"version": database_version()}
    progress(f"{result['version']}: generating {args.documents:,} documents for {args.customers:,} customers")
    import book

    seconds, info = timed(lambda: book.generate(args.customers, args.documents, args.big, args.seed))
    result["generate"] = {"seconds": seconds, "rss_mib": peak_rss_mib(), **info}
    progress(f"generated in {seconds:.0f} s ({info['documents'] / seconds:,.0f} documents/s)")
    analyze()
    result["posting"] = measure_posting(info["customer_ids"], args.count)
    progress(f"posting: {json.dumps(result['posting'])}")
    result["reads"] = measure_reads(info["big_customer"], info["customer_ids"][0])
    result["verify"] = run_verify()
    progress(f"verify: {result['verify']}")
    print(json.dumps(result))


def analyze() -> None:
    """PostgreSQL's autovacuum vacuums and analyses a table soon after a bulk load (inserts count since
    PostgreSQL 13); do it now rather than race it. Until then index-only scans still read the heap."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


# Posting ------------------------------------------------------------------------------------


def measure_posting(customer_ids: list[int], count: int, rounds: int = 4) -> dict:
    from django.db import connection

    import book
    from receivables.customers.models import BankAccount, Customer
    from receivables.ledger.models import Account

    bank = BankAccount.objects.select_related("ledger_account").get(currency="GBP", is_default=True)
    numbers = dict(Customer.objects.filter(pk__in=customer_ids).values_list("id", "number"))
    people = [(pk, numbers[pk]) for pk in customer_ids]
    day = datetime.date(2026, 1, 15)
    services_ = ServicePoster(people, day)
    plain = PlainPoster(people, day)
    seconds = {way: dict.fromkeys(KINDS, 0.0) for way in ("services", "per-transaction", "bulk")}
    per_round = max(1, count // rounds)
    for _ in range(rounds):
        for kind in KINDS:
            seconds["services"][kind] += timed(lambda kind=kind: services_.post(kind, per_round))[0]
            # Writers read the ids the services left, so each starts after them.
            plain.writer = book.BookWriter(connection, bank.pk, bank.ledger_account.code, _accounts(Account))
            seconds["per-transaction"][kind] += timed(lambda kind=kind: plain.post(kind, per_round, bulk=False))[0]
            seconds["bulk"][kind] += timed(lambda kind=kind: plain.post(kind, per_round, bulk=True))[0]
            plain.writer.finish()
    done = per_round * rounds
    rates = {way: {kind: done / s for kind, s in kinds.items()} for way, kinds in seconds.items()}
    return {"count": done, "rates": rates}


def _accounts(account_model: type) -> dict[str, int]:
    return dict(account_model.objects.values_list("code", "id"))


class ServicePoster:
    """The services, one transaction per document, as the API calls them."""

    def __init__(self, people: list[tuple[int, str]], day: datetime.date) -> None:
        from receivables.documents.services import LineInput

        self.people, self.day = people, day
        self.lines = [
            LineInput("Hosting, standard", Decimal(1), Decimal("19.99"), Decimal(20)),
            LineInput("Support hours", Decimal("2.5"), Decimal("45.00"), Decimal(20)),
            LineInput("Domain renewal", Decimal(1), Decimal("12.00"), Decimal(0)),
        ]
        self.payments: list[int] = []
        self.turn = 0

    def customer(self) -> int:
        self.turn += 1
        return self.people[self.turn % len(self.people)][0]

    def post(self, kind: str, count: int) -> None:
        from receivables.documents import services
        from receivables.money import Money
        from receivables.refunds.services import create_refund

        for _ in range(count):
            if kind == "invoice (3 lines)":
                services.create_invoice(self.customer(), self.lines, date=self.day)
            elif kind == "payment":
                payment = services.record_payment(self.customer(), Money(5000, "GBP"), "bank_transfer", date=self.day)
                self.payments.append(payment.pk)
            elif kind == "credit note":
                services.create_credit_note(
                    self.customer(), reason="goodwill", amount=Money(1200, "GBP"), date=self.day
                )
            else:
                create_refund(self.payments.pop(), amount=Money(1000, "GBP"), date=self.day)


class PlainPoster:
    """The same rows as the services write, by the plain way (``book.BookWriter``)."""

    def __init__(self, people: list[tuple[int, str]], day: datetime.date) -> None:
        from receivables.rules import invoicing

        self.writer: object = None  # a fresh book.BookWriter per measurement: it reads the ids to start from
        self.people, self.day = people, day
        lines = [("Hosting, standard", "1", "19.99", "20"), ("Support hours", "2.5", "45.00", "20")]
        lines.append(("Domain renewal", "1", "12.00", "0"))
        amounts = [invoicing.line_amounts(Decimal(q), Decimal(p), Decimal(r), "GBP") for _, q, p, r in lines]
        self.lines = [(*line, a.net.minor, a.tax.minor) for line, a in zip(lines, amounts, strict=True)]
        self.net = sum(a.net.minor for a in amounts)
        self.tax = sum(a.tax.minor for a in amounts)
        self.payments: list = []
        self.turn = 0

    def post(self, kind: str, count: int, *, bulk: bool) -> None:
        """``bulk``: every document in one COPY / executemany transaction; else one transaction each."""
        for _ in range(count):
            self.turn += 1
            self.document(kind, *self.people[self.turn % len(self.people)])
            if not bulk:
                self.writer.flush(bulk=False)
        if bulk:
            self.writer.flush(bulk=True)

    def document(self, kind: str, customer_id: int, number: str) -> None:
        w, day = self.writer, self.day
        if kind == "invoice (3 lines)":
            doc = w.new_document("invoice", day, self.net, self.tax, due_date=day + datetime.timedelta(days=30))
            w.lines(doc, self.lines)
        elif kind == "payment":
            doc = w.new_document("payment", day, 5000, method="bank_transfer", bank_account_id=w.bank_id)
            self.payments.append((doc, customer_id))
        elif kind == "credit note":
            doc = w.new_document("credit_note", day, 1200, reason="goodwill")
        else:
            source, customer_id = self.payments.pop()
            number = next(n for pk, n in self.people if pk == customer_id)
            doc = w.new_document(
                "refund",
                day,
                1000,
                source_id=source.id,
                bank_account_id=w.bank_id,
                description=f"Refund of {source.number}",
            )
            doc.status = "hold"
        w.created(doc, customer_id, number)
        if kind == "refund":
            w.allocate(source, doc, 1000)
            sql = "UPDATE documents_document SET outstanding_minor = %s, status = %s WHERE id = %s"
            w.updates.append((sql, (source.outstanding, source.status, source.id)))
        w.document_row(doc, customer_id)
        delta = doc.total if kind in ("invoice (3 lines)", "refund") else -doc.total
        w.updates.append(
            ("UPDATE customers_customer SET balance_minor = balance_minor + %s WHERE id = %s", (delta, customer_id))
        )


# Reads --------------------------------------------------------------------------------------


def measure_reads(big_customer: int, typical_customer: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from receivables.core.roles import assign_role
    from receivables.core.tokens import create_token
    from receivables.customers.models import Customer
    from receivables.documents.models import Document
    from receivables.documents.selectors import STATEMENT_PAGE_SIZE
    from receivables.documents.selectors import refundables as refundable_items

    def refundables(customer: int) -> int:
        return refundable_items(Customer.objects.get(pk=customer)).count()

    user, _ = get_user_model().objects.get_or_create(username="bench-reader")
    assign_role(user, "viewer")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {create_token(user)}")

    def get(path: str, params: dict | None = None):  # noqa: ANN202
        def call() -> None:
            response = client.get(path, params or {})
            if response.status_code != 200:
                raise SystemExit(f"{path} {params}: {response.status_code} {response.content[:300]!r}")

        return call

    results: dict[str, dict] = {}
    for label, customer in (("busiest customer", big_customer), ("typical customer", typical_customer)):
        documents = Document.objects.filter(customer_id=customer).count()
        last = -(-documents // STATEMENT_PAGE_SIZE)
        base = f"/api/v1/customers/{customer}"
        reads = {
            "balance": (get(base), 30),
            "statement, first page": (get(f"{base}/statement", {"page": 1}), 30),
            "statement, last page": (get(f"{base}/statement", {"page": last}), 30),
            "statement, whole year 2024": (get(f"{base}/statement", {"from": "2024-01-01", "to": "2024-12-31"}), 7),
            f"refundables ({refundables(customer):,} items)": (get(f"{base}/refundables"), 30),
            "aged receivables": (get(f"{base}/aged-receivables", {"as_of": "2026-01-31"}), 30),
        }
        for name, (call, repeats) in reads.items():
            results[f"{label} ({documents:,} documents): {name}"] = latency(call, repeats)
            progress(f"{label}: {name}: {results[f'{label} ({documents:,} documents): {name}']}")
    book = {
        "trial balance": get("/api/v1/ledger/trial-balance"),
        "aged receivables": get("/api/v1/aged-receivables", {"as_of": "2026-01-31"}),
    }
    for name, call in book.items():
        results[f"whole book: {name}"] = latency(call, 5)
        progress(f"whole book: {name}: {results[f'whole book: {name}']}")
    return results


# Verify -------------------------------------------------------------------------------------


def run_verify() -> dict:
    """``receivables ledger verify`` in its own process: wall time, exit code, its own peak RSS (VmHWM)."""
    probe = (
        "import sys; sys.path.insert(0, 'benchmarks'); from common import peak_rss_mib\n"
        "from receivables.cli import main\n"
        "try:\n    main(['ledger', 'verify']); code = 0\n"
        "except SystemExit as done:\n    code = done.code or 0\n"
        "print(f'peak-rss-mib {peak_rss_mib()}'); sys.exit(code)\n"
    )
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False)
    lines = (done.stdout + done.stderr).strip().splitlines()
    rss = next((float(line.split()[1]) for line in lines if line.startswith("peak-rss-mib ")), 0.0)
    return {
        "seconds": time.perf_counter() - started,
        "exit": done.returncode,
        "rss_mib": rss,
        "report": [line for line in lines if not line.startswith("peak-rss-mib ")][-5:],
    }


if __name__ == "__main__":
    main()
