"""``receivables bill-run [--date D]``: renew every subscription whose period ends on or before D."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError, CommandParser

from receivables.core import inputs
from receivables.core.errors import ReceivablesError
from receivables.subscriptions import services
from receivables.subscriptions.services import BillRunSummary

# On a terminal the progress line is redrawn at most this often (seconds).
PROGRESS_EVERY = 0.5


class Command(BaseCommand):
    help = "Renew every subscription whose period ends on or before --date (default today). Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", default=None, help="the billing date, YYYY-MM-DD (default: today)")

    def handle(self, *args: object, **options: object) -> None:
        try:
            day = inputs.date(options["date"], "date")
        except ReceivablesError as error:
            raise CommandError(str(error)) from None
        started = time.monotonic()
        summary = services.bill_run(day, progress=self._progress_line(started) if self._on_terminal() else None)
        if self._on_terminal():
            self.stdout.write("")
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"bill run {day.isoformat()}: renewed {summary.renewals} period(s) of {summary.subscriptions} "
            f"subscription(s): {summary.paid} paid, {summary.unpaid} not paid (past due), "
            f"{len(summary.failed)} failed; {summary.resumed} order(s) waiting for an unknown charge now paid; "
            f"in {elapsed:.1f} s"
        )
        for failure in summary.failed[:50]:
            self.stdout.write(f"  - {failure}")
        if summary.failed:
            raise CommandError(f"{len(summary.failed)} subscription(s) could not be renewed", returncode=1)

    def _on_terminal(self) -> bool:
        isatty = getattr(self.stdout, "isatty", None)
        return bool(isatty and isatty())

    def _progress_line(self, started: float) -> Callable[[BillRunSummary], None]:
        last = [0.0]

        def show(summary: BillRunSummary) -> None:
            now = time.monotonic()
            if now - last[0] < PROGRESS_EVERY and summary.subscriptions < summary.due:
                return
            last[0] = now
            rate = summary.renewals / max(now - started, 1e-9)
            self.stdout.write(
                f"\r{summary.subscriptions}/{summary.due} subscriptions, {summary.renewals} renewed "
                f"({summary.unpaid} not paid), {rate:.0f}/s",
                ending="",
            )
            self.stdout.flush()

        return show
