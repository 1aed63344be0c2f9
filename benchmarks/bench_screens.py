"""How fast the staff screens answer: per-page median and p99 with Django's test client on SQLite.

    .venv/bin/python benchmarks/bench_screens.py --documents 10000 --customers 100000

Builds a throwaway SQLite database (a temporary file, WAL as in production): the customers for
My Customers, and one customer with ``--documents`` documents (invoices, payments and credit
notes, most of them settled, some open), then times each screen ``--repeat`` times after a
warm-up. The book is written with bulk inserts, not the services, so that setting up 10,000
documents takes seconds; the screens read it exactly as they read a real one.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import machine_line, percentile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))


def build(customers: int, documents: int) -> dict[str, int]:
    from django.contrib.auth import get_user_model

    from receivables.core.roles import assign_role
    from receivables.customers import services as customer_services
    from receivables.customers.models import Customer
    from receivables.customers.services import initial_of
    from receivables.demo import FIRST, LAST
    from receivables.documents.models import Document, DocumentType, Status

    user = get_user_model().objects.create_user(username="bench", password="bench-password-1")
    assign_role(user, "admin")
    customer_services.create_bank_account(name="Main GBP", currency="GBP", is_default=True)
    rows = []
    for i in range(customers):
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]} {i}"
        rows.append(
            Customer(
                number=f"BEN-{i:07d}",
                name=name,
                initial=initial_of(name),
                email=f"c{i}@example.com",
                currency="GBP",
                balance_minor=0,
            )
        )
    Customer.objects.bulk_create(rows, batch_size=5000)
    busy = customer_services.create_customer(name="Busy Trading Ltd", currency="GBP", email="busy@example.com")
    start = datetime.date(2020, 1, 1)
    docs = []
    balance = 0
    for i in range(documents):
        kind = (DocumentType.INVOICE, DocumentType.PAYMENT, DocumentType.CREDIT_NOTE)[i % 3]
        total = 1000 + (i % 97) * 25
        # Most documents are settled; every 20th stays open, as a real account's recent ones do.
        outstanding = total if i % 20 == 0 else 0
        balance += total if kind == DocumentType.INVOICE else -total
        docs.append(
            Document(
                type=kind,
                number=f"B{kind[:2].upper()}-{i:07d}",
                customer=busy,
                date=start + datetime.timedelta(days=i // 5),
                currency="GBP",
                net_minor=total,
                total_minor=total,
                outstanding_minor=outstanding,
                status=Status.OPEN if outstanding else Status.CLOSED,
                method="bank_transfer" if kind == DocumentType.PAYMENT else "",
                reason="goodwill" if kind == DocumentType.CREDIT_NOTE else "",
                due_date=start + datetime.timedelta(days=i // 5 + 30) if kind == DocumentType.INVOICE else None,
            )
        )
    Document.objects.bulk_create(docs, batch_size=5000)
    Customer.objects.filter(pk=busy.pk).update(balance_minor=balance)
    invoice = Document.objects.filter(customer=busy, type=DocumentType.INVOICE).order_by("-id").first()
    return {"customer": busy.pk, "invoice": invoice.pk if invoice else 0}


def pages(ids: dict[str, int]) -> dict[str, str]:
    c = ids["customer"]
    return {
        "admin centre": "/",
        "My Customers": "/customers/",
        "My Customers, letter M": "/customers/?initial=M",
        "My Customers, letter M, page 50": "/customers/?initial=M&page=50",
        "My Customers, search 'grace'": "/customers/?q=grace",
        "My Customers, search by number": "/customers/?q=BEN-0050000",
        "customer details": f"/customers/{c}/",
        "accounts (latest page)": f"/customers/{c}/accounts/",
        "accounts (first page)": f"/customers/{c}/accounts/?page=1",
        "accounts, one year": f"/customers/{c}/accounts/?from=2022-01-01&to=2022-12-31",
        "Payment form": f"/customers/{c}/payment/",
        "Credit Note form": f"/customers/{c}/credit-note/",
        "Invoice form": f"/customers/{c}/invoice/",
        "Allocate": f"/customers/{c}/allocate/",
        "Refund O/S": f"/customers/{c}/refund/",
        "printable invoice": f"/documents/{ids['invoice']}/",
        "printable statement, one year": f"/customers/{c}/statement/?from=2022-01-01&to=2022-12-31",
        "held refunds": "/refunds/held/",
        "invoice PDF (WeasyPrint)": f"/documents/{ids['invoice']}.pdf",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="bench-screens-")
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receivables.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    ids = build(args.customers, args.documents)
    print(f"machine: {machine_line()}; SQLite {sqlite3.sqlite_version}")
    print(
        f"book: {args.customers:,} customers; one customer with {args.documents:,} documents "
        f"(built in {time.perf_counter() - began:.1f} s); {args.repeat} requests per page after one warm-up"
    )
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average at start: {load:.2f} (wall times grow with it; CPU times much less)")
    print(f"{'page':40} {'median ms':>10} {'p99 ms':>8} {'CPU median ms':>14}")
    for name, path in pages(ids).items():
        if client.get(path).status_code != 200:
            raise SystemExit(f"{path} did not answer 200")
        samples, cpu = [], []
        for _ in range(args.repeat):
            began, began_cpu = time.perf_counter(), time.process_time()
            client.get(path)
            samples.append((time.perf_counter() - began) * 1000)
            cpu.append((time.process_time() - began_cpu) * 1000)
        print(
            f"{name:40} {statistics.median(samples):10.1f} {percentile(samples, 0.99):8.1f} "
            f"{statistics.median(cpu):14.1f}"
        )


if __name__ == "__main__":
    main()
