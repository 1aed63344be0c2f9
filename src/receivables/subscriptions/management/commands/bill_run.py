"""``receivables bill-run [--date D] [--workers N]``: renew every subscription whose period ends on or before D."""

from __future__ import annotations

import datetime
import multiprocessing
import time
from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.utils import timezone

from receivables.core.commands import business_date, whole_number
from receivables.subscriptions import services
from receivables.subscriptions.services import BillRunSummary

# On a terminal the progress line is redrawn at most this often (seconds).
PROGRESS_EVERY = 0.5


# Progress shared by the worker processes: set before they fork, so they inherit it.
_DONE: object = None


def _run_shard(day: object, index: int, shards: int) -> BillRunSummary:
    """One worker process: its share of the subscriptions, counting progress in ``_DONE``."""
    connections.close_all()  # never share the parent's connection

    counted = [0]

    def count(summary: BillRunSummary) -> None:
        # Called after each batch: add the subscriptions visited since the last call.
        with _DONE.get_lock():  # type: ignore[attr-defined]
            _DONE.value += summary.subscriptions - counted[0]  # type: ignore[attr-defined]
        counted[0] = summary.subscriptions

    try:
        return services.bill_run(day, shard=(index, shards), progress=count)  # type: ignore[arg-type]
    finally:
        connections.close_all()


def _merge(day: object, parts: list[BillRunSummary]) -> BillRunSummary:
    total = BillRunSummary(date=day)  # type: ignore[arg-type]
    for part in parts:
        total.due += part.due
        total.subscriptions += part.subscriptions
        total.renewals += part.renewals
        total.paid += part.paid
        total.unpaid += part.unpaid
        total.resumed += part.resumed
        total.failed += part.failed
        total.behind += part.behind
    return total


class Command(BaseCommand):
    help = "Renew every subscription whose period ends on or before --date (default today). Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date", type=business_date, default=None, help="the billing date, YYYY-MM-DD (default: today)"
        )
        parser.add_argument(
            "--workers",
            type=whole_number(1, 64),
            default=1,
            help="processes sharing the run by subscription id (more than 1 on PostgreSQL)",
        )

    def handle(self, *args: object, **options: object) -> None:
        day: datetime.date = options["date"] or timezone.localdate()  # type: ignore[assignment]
        workers = int(options["workers"])  # type: ignore[call-overload]
        started = time.monotonic()
        summary = self._in_parallel(day, workers, started) if workers > 1 else self._alone(day, started)
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
        if summary.behind:
            self.stdout.write(
                f"{len(summary.behind)} subscription(s) are more than one period behind: one period was renewed "
                "now; decide whether to renew the rest (each later run renews one more) or to cancel"
            )
            for behind in summary.behind[:50]:
                self.stdout.write(f"  - {behind}")
        if summary.failed:
            raise CommandError(f"{len(summary.failed)} subscription(s) could not be renewed", returncode=1)

    def _alone(self, day: object, started: float) -> BillRunSummary:
        show = self._progress_line(started) if self._on_terminal() else None
        return services.bill_run(day, progress=show)  # type: ignore[arg-type]

    def _in_parallel(self, day: object, workers: int, started: float) -> BillRunSummary:
        global _DONE
        context = multiprocessing.get_context("fork")
        done = _DONE = context.Value("q", 0)
        connections.close_all()
        with context.Pool(workers) as pool:
            pending = [pool.apply_async(_run_shard, (day, index, workers)) for index in range(workers)]
            while not all(job.ready() for job in pending):
                if self._on_terminal():
                    rate = done.value / max(time.monotonic() - started, 1e-9)
                    self.stdout.write(f"\r{done.value} subscriptions, {rate:.0f}/s", ending="")
                    self.stdout.flush()
                time.sleep(PROGRESS_EVERY)
            return _merge(day, [job.get() for job in pending])

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
