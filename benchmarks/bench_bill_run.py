"""How fast the bill run renews subscriptions, and that its memory does not grow with their number.

    .venv/bin/python benchmarks/bench_bill_run.py --subscriptions 100000
    .venv/bin/python benchmarks/bench_bill_run.py --subscriptions 10000 --database sqlite

For each database (``--database sqlite``, ``postgres`` or ``both``) a child process builds a
scratch database (a temporary SQLite file in WAL mode as in production; or a PostgreSQL
database it creates on the server of ``--postgres`` and drops afterwards), migrates it, and
writes N customers with one active monthly subscription each whose period ends on the billing
date (bulk inserts: the set-up is not what is measured). Every 100th card is ``tok_declined``.
Then it runs the real bill run through the services and the sandbox gateway, exactly as
``receivables bill-run`` does: per renewal an invoice, a card charge with its e-transaction, the
card payment and its allocation, and the ledger entries.

Printed: the machine, renewals per second, and memory: the process's peak RSS
(``resource.getrusage``) after the set-up and after the bill run. The bill run reads ids in
keyset batches, so the growth during the run stays the same whatever N is: compare two sizes.
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine_line as machine
from common import peak_rss_mib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

BILLING_DATE = datetime.date(2026, 3, 1)
ANCHOR = datetime.date(2026, 2, 1)


def build(count: int) -> None:
    """N customers, each with one active P1M subscription due on the billing date."""
    from receivables.core.models import Sequence
    from receivables.customers import services as customer_services
    from receivables.customers.models import Customer
    from receivables.subscriptions import services
    from receivables.subscriptions.models import Subscription

    customer_services.create_bank_account(name="Main GBP", currency="GBP", is_default=True)
    policy = {
        "non_refundable_amount": "0",
        "full_refund_days": 30,
        "after_full_refund_period": "prorated_recurring_fee",
    }
    plan = services.create_plan(
        "Hosting", "GBP", [{"duration": "P1M", "recurring_fee": "19.99", "tax_rate": "20", "refund_policy": policy}]
    )
    period = plan.periods.get()
    chunk = 5000
    for first in range(0, count, chunk):
        numbers = range(first, min(first + chunk, count))
        customers = Customer.objects.bulk_create(
            [Customer(number=f"CUS-{i + 1:06d}", name=f"Subscriber {i}", initial="S", currency="GBP") for i in numbers]
        )
        Subscription.objects.bulk_create(
            [
                Subscription(
                    customer_id=customer.pk,
                    plan_period=period,
                    status="active",
                    card_token="tok_declined" if i % 100 == 99 else "tok_visa",
                    anchor=ANCHOR,
                    period_index=0,
                    current_period_start=ANCHOR,
                    current_period_end=BILLING_DATE,
                )
                for i, customer in zip(numbers, customers, strict=True)
            ]
        )
    Sequence.objects.update_or_create(series="customer", defaults={"prefix": "CUS-", "next_value": count + 1})


def _in_workers(workers: int) -> object:
    """The bill run as ``receivables bill-run --workers N`` runs it: N processes, shared by id."""
    import io

    from django.core.management import call_command

    from receivables.subscriptions.models import Order
    from receivables.subscriptions.services import BillRunSummary

    call_command("bill_run", "--date", BILLING_DATE.isoformat(), "--workers", str(workers), stdout=io.StringIO())
    renewals = Order.objects.filter(kind="renewal")
    paid = renewals.filter(status="completed").count()
    return BillRunSummary(date=BILLING_DATE, renewals=renewals.count(), paid=paid, unpaid=renewals.count() - paid)


def measure(count: int, workers: int) -> dict[str, object]:
    from receivables.subscriptions import services

    build(count)
    rss_before = peak_rss_mib()
    started = time.perf_counter()
    shown = [started]

    def progress(summary: services.BillRunSummary) -> None:
        now = time.perf_counter()
        if now - shown[0] >= 10:
            shown[0] = now
            rate = summary.renewals / (now - started)
            print(f"  … {summary.subscriptions}/{summary.due} ({rate:.0f}/s)", file=sys.stderr, flush=True)

    summary = _in_workers(workers) if workers > 1 else services.bill_run(BILLING_DATE, progress=progress)
    elapsed = time.perf_counter() - started
    again = services.bill_run(BILLING_DATE)
    return {
        "renewals": summary.renewals,
        "paid": summary.paid,
        "unpaid": summary.unpaid,
        "failed": len(summary.failed),
        "workers": workers,
        "worker_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "seconds": elapsed,
        "rate": summary.renewals / elapsed if elapsed else 0.0,
        "rss_before": rss_before,
        "rss_after": peak_rss_mib(),
        "rerun_renewals": again.renewals,
    }


def child(database: str, count: int, postgres: str, workers: int) -> None:
    """Runs in its own process: settings are read once per process."""
    scratch = None
    if database == "sqlite":
        folder = tempfile.mkdtemp(prefix="bench-bill-run-")
        os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    else:
        scratch = f"bench_bill_run_{os.getpid()}"
        _admin(postgres, f'CREATE DATABASE "{scratch}"')
        os.environ["DATABASE_URL"] = f"{postgres.rsplit('/', 1)[0]}/{scratch}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receivables.settings")
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        version = connection.cursor().connection
        engine = (
            f"SQLite {__import__('sqlite3').sqlite_version}"
            if database == "sqlite"
            else f"PostgreSQL {version.info.server_version // 10000}.{version.info.server_version % 100}"
        )
        result = measure(count, workers)
        print(f"{database}|{engine}|{machine()}|" + "|".join(f"{k}={v}" for k, v in result.items()), flush=True)
    finally:
        if scratch:
            from django.db import connections

            connections.close_all()
            _admin(postgres, f'DROP DATABASE IF EXISTS "{scratch}"')


def _admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--workers", type=int, default=1, help="processes sharing the run (as bill-run --workers)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.database, args.subscriptions, args.postgres, args.workers)
        return
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    print(f"bill run of {args.subscriptions} subscriptions, billing date {BILLING_DATE}")
    for database in databases:
        command = [sys.executable, __file__, "--child", "--database", database]
        command += ["--subscriptions", str(args.subscriptions), "--workers", str(args.workers)]
        command += ["--postgres", args.postgres]
        # The child's progress goes to stderr (shown as it runs); its result is its last stdout line.
        output = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
        line = output.stdout.strip().splitlines()[-1]
        name, engine, where, *pairs = line.split("|")
        result = dict(pair.split("=", 1) for pair in pairs)
        print(f"\n{name}: {engine}\n  machine: {where}")
        print(
            f"  {result['workers']} process(es): {result['renewals']} renewals ({result['paid']} paid, "
            f"{result['unpaid']} declined, "
            f"{result['failed']} failed) in {float(result['seconds']):.1f} s: {float(result['rate']):.0f} renewals/s"
        )
        print(
            f"  peak RSS {float(result['rss_before']):.0f} MiB after set-up, {float(result['rss_after']):.0f} MiB "
            f"after the bill run (growth {float(result['rss_after']) - float(result['rss_before']):.0f} MiB); "
            f"a second run for the same date renewed {result['rerun_renewals']}; "
            f"worker peak RSS {float(result['worker_rss']):.0f} MiB"
        )


if __name__ == "__main__":
    main()
