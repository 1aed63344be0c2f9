"""A peer on the same PostgreSQL: django-hordak posting a bare two-leg transfer, beside our complete invoice.

    .venv/bin/python benchmarks/bench_peer.py [--count 1000]

Runs in its own scratch database (``bench_peer_<pid>``) with ``benchmarks/hordak_settings.py``
(the project's settings plus ``mptt`` and ``hordak``), so both ledgers live in one database on
one server. In rounds, turn about, it posts ``--count`` complete invoices through our services
(document, 3 lines, number, balance, audit record, 3-leg journal entry) and ``--count`` hordak
transfers (``Account.transfer_to`` in a transaction: a Transaction and two Legs, checked by
hordak's triggers), each its own transaction. Skips with a message when hordak is not installed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import child_env, progress, run_child, scratch_database, setup_django, timed  # noqa: E402


def hordak_missing() -> str | None:
    try:
        import hordak  # noqa: F401
    except ImportError:
        return "django-hordak is not installed (pip install django-hordak into the venv to compare): peer skipped"
    return None


def measure(count: int, rounds: int = 4) -> dict:
    from django.core.management import call_command
    from django.db import transaction
    from djmoney.money import Money as HordakMoney
    from hordak.models import Account

    from receivables.customers import services as customers
    from receivables.documents import services
    from receivables.documents.services import LineInput

    call_command("migrate", verbosity=0)
    customers.create_bank_account(name="Main GBP", currency="GBP", is_default=True)
    people = [customers.create_customer(name=f"Peer customer {n}", currency="GBP").pk for n in range(50)]
    lines = [
        LineInput("Hosting, standard", Decimal(1), Decimal("19.99"), Decimal(20)),
        LineInput("Support hours", Decimal("2.5"), Decimal("45.00"), Decimal(20)),
        LineInput("Domain renewal", Decimal(1), Decimal("12.00"), Decimal(0)),
    ]
    sales = Account.objects.create(name="Sales", type=Account.TYPES.income, currencies=["GBP"])
    receivable = Account.objects.create(name="Receivable", type=Account.TYPES.asset, currencies=["GBP"])
    day = datetime.date(2026, 1, 15)
    amount = HordakMoney(Decimal("170.99"), "GBP")

    def invoices(n: int) -> None:
        for i in range(n):
            services.create_invoice(people[i % 50], lines, date=day)

    def transfers(n: int) -> None:
        for _ in range(n):
            with transaction.atomic():
                sales.transfer_to(receivable, amount, description="Invoice")

    invoices(20)  # warm both paths once
    transfers(20)
    seconds = {"ours": 0.0, "hordak": 0.0}
    per_round = max(1, count // rounds)
    for _ in range(rounds):
        seconds["ours"] += timed(lambda: invoices(per_round))[0]
        seconds["hordak"] += timed(lambda: transfers(per_round))[0]
    done = per_round * rounds
    from hordak.models import Leg

    return {
        "count": done,
        "ours_per_s": done / seconds["ours"],
        "hordak_per_s": done / seconds["hordak"],
        "hordak_legs": Leg.objects.count(),
        "hordak_version": __import__("importlib.metadata").metadata.version("django-hordak"),
    }


def run(count: int) -> dict:
    """In the parent: a scratch database and a child process with the hordak settings."""
    missing = hordak_missing()
    if missing:
        print(missing, file=sys.stderr)
        return {"skipped": missing}
    with scratch_database("postgres", f"bench_peer_{os.getpid()}") as url:
        env = child_env(url, DJANGO_SETTINGS_MODULE="benchmarks.hordak_settings")
        return run_child([__file__, "--child", "--count", str(count)], env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        setup_django("benchmarks.hordak_settings")
        result = measure(args.count)
        progress(f"peer: {result}")
        print(json.dumps(result))
        return
    print(json.dumps(run(args.count), indent=2))


if __name__ == "__main__":
    main()
