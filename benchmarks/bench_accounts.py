"""Benchmark for customer accounts (issue 2): posting throughput and statement latency.

    .venv/bin/python benchmarks/bench_accounts.py [--database sqlite|postgres|both] [--documents N]

For each database it measures, on a fresh database (SQLite: a temporary file; PostgreSQL: a
scratch database ``bench_receivables`` created and dropped on postgres://postgres@127.0.0.1:5432):

* documents posted per second through the services, each its own transaction, as the API
  would call them: invoices with 3 lines, payments, credit notes, allocations, and a mix;
* statement latency (median, p99) through the API for one customer with N documents
  (default 100,000): the first page, the last page, and a whole year.

The statement customer's documents are bulk-inserted, not posted one by one (that would take
minutes): invoices, payments and credit notes spread over three years, each with its balanced
journal entry, numbers taken from the series without gaps, and the customer's balance set to
their sum. ``ledger verify`` then runs over the whole book, so the data satisfies every invariant
the services keep. Each database runs in its own child process, since Django's settings are read
once per process.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from common import machine, pg_admin, progress, timed

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_SCRATCH = "bench_receivables"


# The parent: databases, report ---------------------------------------------------------------


def run_child(database: str, documents: int, count: int) -> dict:
    env = dict(os.environ)
    scratch = None
    if database == "sqlite":
        scratch = tempfile.mkdtemp(prefix="bench_receivables_")
        env["DATABASE_URL"] = f"sqlite:///{scratch}/bench.sqlite3"
    else:
        pg_admin(f"DROP DATABASE IF EXISTS {PG_SCRATCH} WITH (FORCE)")
        pg_admin(f"CREATE DATABASE {PG_SCRATCH}")
        env["DATABASE_URL"] = f"{PG_SERVER}/{PG_SCRATCH}"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    try:
        child = [sys.executable, __file__, "--child", database, "--documents", str(documents), "--count", str(count)]
        done = subprocess.run(child, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
        sys.stderr.write(done.stderr)
        if done.returncode != 0:
            raise SystemExit(f"the {database} run failed")
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        if database == "postgres":
            pg_admin(f"DROP DATABASE IF EXISTS {PG_SCRATCH} WITH (FORCE)")
        elif scratch:
            for file in Path(scratch).iterdir():
                file.unlink()
            Path(scratch).rmdir()


def report(info: dict[str, str], results: dict[str, dict], documents: int) -> None:
    print("Machine")
    for key, value in info.items():
        print(f"  {key:8} {value}")
    for database, result in results.items():
        print(f"  {database:8} {result['version']}")
    print()
    print("Documents posted per second (services, one transaction each)")
    print(f"  {'operation':26}" + "".join(f"{db:>12}" for db in results))
    for name in next(iter(results.values()))["posting"]:
        print(f"  {name:26}" + "".join(f"{r['posting'][name]:>12.0f}" for r in results.values()))
    print()
    print(f"Statement latency through the API, one customer with {documents:,} documents (ms)")
    print(f"  {'request':26}" + "".join(f"{db + ' med':>14}{db + ' p99':>14}" for db in results))
    for name in next(iter(results.values()))["statement"]:
        cells = "".join(
            f"{r['statement'][name]['median']:>14.1f}{r['statement'][name]['p99']:>14.1f}" for r in results.values()
        )
        print(f"  {name:26}{cells}")
    print()
    for database, result in results.items():
        print(
            f"  {database}: bulk-loaded {documents:,} documents in {result['load_seconds']:.1f} s; "
            f"ledger verify over the book: {result['verify_seconds']:.1f} s, problems: {result['problems']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--documents", type=int, default=100_000, help="documents of the statement customer")
    parser.add_argument("--count", type=int, default=1000, help="documents posted per throughput measurement")
    parser.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_run(args.child, args.documents, args.count)))
        return
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    sys.path.insert(0, str(ROOT / "src"))
    info = machine()
    results = {db: run_child(db, args.documents, args.count) for db in databases}
    report(info, results, args.documents)


# The child: one database -----------------------------------------------------------------


def child_run(database: str, documents: int, count: int) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receivables.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("select sqlite_version()" if database == "sqlite" else "show server_version")
        version = ("SQLite " if database == "sqlite" else "PostgreSQL ") + cursor.fetchone()[0]
    posting = measure_posting(count)
    progress(f"posting: {posting}")
    load_seconds, customer_id = timed(lambda: bulk_customer(documents))
    progress(f"bulk load: {load_seconds:.1f} s")
    if database == "postgres":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # what autovacuum does shortly after a bulk load
    from receivables.core.checks import verify

    verify_seconds, checks = timed(verify)
    problems = sum(len(found) for found in checks.values())
    return {
        "version": version,
        "posting": posting,
        "statement": measure_statements(customer_id),
        "load_seconds": load_seconds,
        "verify_seconds": verify_seconds,
        "problems": problems,
    }


def measure_posting(count: int) -> dict[str, float]:
    from receivables.customers import services as customers
    from receivables.documents import services
    from receivables.documents.services import LineInput
    from receivables.money import Money

    customers.create_bank_account(name="Main GBP", currency="GBP", is_default=True)
    people = [customers.create_customer(name=f"Posting customer {n}", currency="GBP").pk for n in range(50)]
    lines = [
        LineInput("Hosting, standard", Decimal(1), Decimal("19.99"), Decimal(20)),
        LineInput("Support hours", Decimal("2.5"), Decimal("45.00"), Decimal(20)),
        LineInput("Domain renewal", Decimal(1), Decimal("12.00"), Decimal(0)),
    ]
    day = datetime.date(2026, 1, 15)
    invoices: list[int] = []
    credits: list[int] = []

    def invoice(i: int) -> None:
        invoices.append(services.create_invoice(people[i % 50], lines, date=day).pk)

    def payment(i: int) -> None:
        credits.append(services.record_payment(people[i % 50], Money(5000, "GBP"), "bank_transfer", date=day).pk)

    def credit_note(i: int) -> None:
        credits.append(
            services.create_credit_note(people[i % 50], reason="goodwill", amount=Money(1200, "GBP"), date=day).pk
        )

    def allocation(i: int) -> None:
        # Credit i and invoice i belong to the same customer (both chosen by i % 50).
        services.allocate(credits[i], invoices[i], Money(100, "GBP"))

    def rate(operation, start: int = 0) -> float:  # noqa: ANN001
        seconds, _ = timed(lambda: [operation(i) for i in range(start, start + count)])
        return count / seconds

    results = {
        "invoice (3 lines)": rate(invoice),
        "payment": rate(payment),
        "credit note": rate(credit_note),
        "allocation": rate(allocation),
    }

    def mixed(i: int) -> None:
        [invoice, payment, credit_note, allocation][i % 4](count + i // 4)

    seconds, _ = timed(lambda: [mixed(i) for i in range(count)])
    results["mixed (all four in turn)"] = count / seconds
    return results


def bulk_customer(documents: int) -> int:
    """One customer with ``documents`` documents and their journal entries, inserted in bulk."""
    from django.db import transaction

    from receivables.core.models import AuditEntry, Sequence
    from receivables.core.numbering import format_number, next_number
    from receivables.customers.models import BankAccount, Customer
    from receivables.documents.models import Document, DocumentType, Status
    from receivables.ledger.models import Account, JournalEntry, Posting
    from receivables.ledger.services import ensure_chart
    from receivables.rules import posting

    rng = random.Random(2)
    kinds = [DocumentType.INVOICE] * 6 + [DocumentType.PAYMENT] * 3 + [DocumentType.CREDIT_NOTE]
    first_day = datetime.date(2023, 1, 1)
    with transaction.atomic():
        ensure_chart()
        bank = BankAccount.objects.get(currency="GBP", is_default=True)
        customer = Customer.objects.create(
            number=next_number("customer"), name="Statement Customer", initial="S", currency="GBP"
        )
        sequences = {s.series: s for s in Sequence.objects.select_for_update()}
        rows: list[Document] = []
        legs: list[list] = []
        balance = 0
        for index in range(documents):
            kind = rng.choice(kinds)
            day = first_day + datetime.timedelta(days=index * 1095 // documents)
            sequence = sequences[kind]
            number = format_number(sequence.prefix, sequence.next_value)
            sequence.next_value += 1
            if kind == DocumentType.PAYMENT:
                net, tax = rng.randint(1000, 90000), 0
                entry = posting.receipt(money(net), bank.ledger_account.code)
            else:
                net = rng.randint(1000, 90000)
                tax = net // 5
                builder = posting.sale if kind == DocumentType.INVOICE else posting.sales_credit
                entry = builder(money(net), money(tax))
            total = net + tax
            balance += total if kind == DocumentType.INVOICE else -total
            rows.append(
                Document(
                    type=kind,
                    number=number,
                    customer=customer,
                    date=day,
                    currency="GBP",
                    net_minor=net,
                    tax_minor=tax,
                    total_minor=total,
                    outstanding_minor=total,
                    status=Status.OPEN,
                    method="bank_transfer" if kind == DocumentType.PAYMENT else "",
                    bank_account=bank if kind == DocumentType.PAYMENT else None,
                    reason="goodwill" if kind == DocumentType.CREDIT_NOTE else "",
                    due_date=day + datetime.timedelta(days=30) if kind == DocumentType.INVOICE else None,
                )
            )
            legs.append(entry)
        Document.objects.bulk_create(rows, batch_size=2000)
        entries = JournalEntry.objects.bulk_create(
            [
                JournalEntry(date=d.date, memo=f"{d.number} {customer.number}", currency="GBP", document_id=d.pk)
                for d in rows
            ],
            batch_size=2000,
        )
        accounts = dict(Account.objects.values_list("code", "id"))
        Posting.objects.bulk_create(
            [
                Posting(
                    entry_id=entry.pk,
                    account_id=accounts[leg.account],
                    currency="GBP",
                    debit_minor=leg.debit.minor,
                    credit_minor=leg.credit.minor,
                )
                for entry, entry_legs in zip(entries, legs, strict=True)
                for leg in entry_legs
            ],
            batch_size=5000,
        )
        # The services record each document's creation; ledger verify checks the trail has no gap.
        AuditEntry.objects.bulk_create(
            [
                AuditEntry(
                    actor_name="benchmark",
                    via="system",
                    action=f"{d.type}.create",
                    object_type="document",
                    object_id=str(d.pk),
                    object_label=d.number,
                    after={"number": d.number, "status": d.status},
                )
                for d in rows
            ],
            batch_size=2000,
        )
        for sequence in sequences.values():
            sequence.save(update_fields=["next_value"])
        Customer.objects.filter(pk=customer.pk).update(balance_minor=balance)
    return customer.pk


def money(minor: int):  # noqa: ANN201
    from receivables.money import Money

    return Money(minor, "GBP")


def measure_statements(customer_id: int) -> dict[str, dict[str, float]]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from receivables.core.roles import assign_role
    from receivables.core.tokens import create_token
    from receivables.customers.models import Customer
    from receivables.documents.selectors import STATEMENT_PAGE_SIZE

    user = get_user_model().objects.create(username="bench")
    assign_role(user, "viewer")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {create_token(user)}")
    count = Customer.objects.get(pk=customer_id).documents.count()
    last_page = -(-count // STATEMENT_PAGE_SIZE)
    path = f"/api/v1/customers/{customer_id}/statement"
    requests = {
        "first page (100 lines)": ({"page": 1}, 200),
        "last page (100 lines)": ({"page": last_page}, 200),
        "whole year 2024": ({"from": "2024-01-01", "to": "2024-12-31"}, 10),
    }
    results = {}
    for name, (params, repeats) in requests.items():
        client.get(path, params)  # warm the caches once
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            response = client.get(path, params)
            samples.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.content[:300]
        samples.sort()
        p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
        results[name] = {"median": statistics.median(samples), "p99": p99, "lines": len(response.json()["lines"])}
    return results


if __name__ == "__main__":
    main()
