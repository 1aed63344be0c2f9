"""Bank statement import and matching at scale (issue 15): lines per second and peak memory.

    .venv/bin/python benchmarks/bench_bank_import.py --database both --documents 1000000 --lines 100000
    .venv/bin/python benchmarks/bench_bank_import.py --database sqlite --documents 100000 --lines 10000   # quick

For each database a scratch database is made (a temporary SQLite file, or the PostgreSQL
database ``banking_bench``, created and dropped), then three child processes run:

1. *build*: migrates, generates the book (``book.generate``: customers, invoices, payments,
   credit notes, allocations, refunds, with entries, audit rows and numbers), and writes two
   camt.053 files of open invoices' payments, a small one (a tenth of ``--lines``) and the full
   one, over different invoices. Of each ten entries seven name an invoice number with its
   exact O/S, one names the customer number with the exact O/S of one of its invoices, one
   gives only an amount some invoice owes (suggested), one is money nothing points at
   (unmatched); one entry in fifty is a debit (bank charges).
2. *import* of the small file, then 3. *import* of the full one, each in a fresh process that
   runs ``receivables.banking.importing.import_statement`` exactly as ``receivables bank
   import`` does (read and store, check, match; certain matches become payments allocated) and
   reports its time and its peak resident memory (VmHWM). The two peaks side by side show
   whether memory grows with the file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    PG_SERVER,
    ROOT,
    child_env,
    database_version,
    machine_line,
    peak_rss_mib,
    pg_admin,
    progress,
    run_child,
    setup_django,
    timed,
)

SCRATCH = "banking_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--big", type=int, default=1_000, help="documents of the busiest customer")
    parser.add_argument("--lines", type=int, default=100_000, help="entries in the full statement")
    parser.add_argument("--phase", choices=("build", "import"), help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "build":
        print(json.dumps(build(args)))
    elif args.phase == "import":
        print(json.dumps(import_file(Path(args.file))))
    else:
        report(args, [measure(database, args) for database in databases(args.database)])


def databases(choice: str) -> list[str]:
    return ["sqlite", "postgres"] if choice == "both" else [choice]


def measure(database: str, args: argparse.Namespace) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="banking_bench_"))
    url = f"sqlite:///{folder}/bench.sqlite3" if database == "sqlite" else f"{PG_SERVER}/{SCRATCH}"
    if database == "postgres":
        pg_admin(f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)')
        pg_admin(f'CREATE DATABASE "{SCRATCH}"')
    try:
        env = child_env(url, BANKING_BENCH_FILES=str(folder))
        common = ["benchmarks/bench_bank_import.py", "--customers", str(args.customers), "--documents"]
        common += [str(args.documents), "--big", str(args.big), "--lines", str(args.lines)]
        built = run_child([*common, "--phase", "build"], env)
        small = run_child([*common, "--phase", "import", "--file", built["small"]], env)
        full = run_child([*common, "--phase", "import", "--file", built["full"]], env)
        return {"database": database, "build": built, "small": small, "full": full}
    finally:
        if database == "postgres":
            pg_admin(f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)')
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()


# The book and the statements ---------------------------------------------------------------


def build(args: argparse.Namespace) -> dict:
    setup_django()
    from django.core.management import call_command

    import book

    call_command("migrate", verbosity=0)
    progress(f"{database_version()}: generating {args.documents:,} documents for {args.customers:,} customers")
    seconds, info = timed(lambda: book.generate(args.customers, args.documents, args.big))
    progress(f"book generated in {seconds:.0f} s")
    analyze()
    folder = Path(os.environ["BANKING_BENCH_FILES"])
    small, full = folder / "small.xml", folder / "full.xml"
    entries = statement_entries(args.lines // 10 + args.lines)
    write(small, entries[: args.lines // 10])
    write(full, entries[args.lines // 10 :])
    progress(f"statements written: {small.stat().st_size:,} and {full.stat().st_size:,} bytes")
    return {"book_seconds": seconds, "documents": info["documents"], "small": str(small), "full": str(full)}


def analyze() -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def statement_entries(count: int) -> list[dict]:
    """Payments of open invoices, one each, in the mix the module's docstring describes."""
    from receivables.documents.models import Document
    from receivables.money import Money

    invoices = (
        Document.objects.filter(type="invoice", status="open", currency="GBP", outstanding_minor__gt=0)
        .order_by("id")
        .values_list("number", "outstanding_minor", "customer__number", "customer__name")
    )
    entries = []
    for index, (number, owed, customer_number, name) in enumerate(invoices.iterator(5000)):
        if len(entries) >= count:
            break
        amount = Money(owed, "GBP").to_decimal_string()
        kind = index % 10
        reference = {8: "payment thank you", 9: "misc"}.get(kind, number if kind < 7 else customer_number)
        if kind == 9:
            amount = f"{1 + index % 97}.{index % 89:02d}"
        entries.append({"amount": amount, "reference": reference, "name": name, "ref": f"B-{number}"})
        if index % 50 == 49:
            entries.append({"amount": "-2.50", "reference": "charges", "name": "The Bank", "ref": f"D-{number}"})
    if len(entries) < count:
        progress(f"the book has only {len(entries):,} open invoices for {count:,} entries")
    return entries


def write(path: Path, entries: list[dict]) -> None:
    from tests.bank_files import write_camt053

    total = sum((Decimal(entry["amount"]) for entry in entries), Decimal(0))
    with path.open("w", encoding="utf-8") as out:
        write_camt053(out, entries, total=total, opening=Decimal("10000.00"))


# The import ---------------------------------------------------------------------------------


PHASES = (
    ("importing", "_store", "read, check and store the lines"),
    ("evidence", "facts_for", "look up what the book says"),
    ("rules", "decide", "score and decide"),
    ("matching", "_settle_certain", "payments and allocations"),
)


def time_phases() -> dict[str, float]:
    """Wrap the import's steps to add up the time spent in each (the benchmark's own instrument)."""
    from receivables.banking import evidence, importing, matching
    from receivables.rules import matching as rules

    modules = {"importing": importing, "evidence": evidence, "rules": rules, "matching": matching}
    spent = dict.fromkeys((label for _, _, label in PHASES), 0.0)
    for module_name, function, label in PHASES:
        module = modules[module_name]
        setattr(module, function, _timed_by(getattr(module, function), label, spent))
    return spent


def _timed_by(function: Any, label: str, spent: dict[str, float]) -> Any:
    def run(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - start

    return run


def import_file(path: Path) -> dict:
    setup_django()
    from receivables.banking.importing import import_statement
    from receivables.customers.models import BankAccount

    phases = time_phases()

    bank = BankAccount.objects.get(currency="GBP", is_default=True)
    before = peak_rss_mib()
    progress(f"importing {path.name} ({path.stat().st_size:,} bytes)")
    start = time.perf_counter()
    with path.open("rb") as stream:
        result = import_statement(stream, bank.pk, file_name=path.name)
    seconds = time.perf_counter() - start
    lines = result.imported
    progress(f"{lines:,} lines in {seconds:.1f} s: {lines / seconds:,.0f} lines/s; peak {peak_rss_mib():.0f} MiB")
    return {
        "lines": lines,
        "matched": result.matched,
        "suggested": result.suggested,
        "unmatched": result.unmatched,
        "skipped": result.skipped,
        "seconds": seconds,
        "lines_per_second": lines / seconds,
        "rss_before_mib": before,
        "rss_peak_mib": peak_rss_mib(),
        "phases": phases,
        "file_bytes": path.stat().st_size,
        "version": database_version(),
    }


def report(args: argparse.Namespace, results: list[dict]) -> None:
    print(f"machine: {machine_line()}")
    print(f"book: {args.documents:,} documents, {args.customers:,} customers; statement: {args.lines:,} entries")
    print("database          file    lines  matched suggested unmatched  seconds  lines/s  peak RSS MiB (start → peak)")
    for result in results:
        for size in ("small", "full"):
            run = result[size]
            print(
                f"{run['version']:<17} {size:<5} {run['lines']:>7,} {run['matched']:>8,} {run['suggested']:>9,} "
                f"{run['unmatched']:>9,} {run['seconds']:>8.1f} {run['lines_per_second']:>8,.0f} "
                f"{run['rss_before_mib']:>5.0f} → {run['rss_peak_mib']:.0f}"
            )
            for label, seconds in run["phases"].items():
                print(f"    {label:<30} {seconds:>7.1f} s  {run['lines'] / max(seconds, 1e-9):>9,.0f} lines/s")
    print(json.dumps(results))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
