import datetime

from django.core.management.base import BaseCommand, CommandParser

from receivables.core.commands import whole_number
from receivables.gateways.reconcile import reconcile
from receivables.gateways.services import ABANDONED_AFTER


class Command(BaseCommand):
    help = "Resolve e-transactions whose outcome is unknown, with their original idempotency keys."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--pending-older-than",
            type=whole_number(0, 10**9, "seconds"),
            default=int(ABANDONED_AFTER.total_seconds()),
            metavar="SECONDS",
            help="also resolve calls recorded but unanswered for this long (a crashed process); default %(default)s",
        )

    def handle(self, *args: object, **options: object) -> None:
        seconds = int(options["pending_older_than"])  # type: ignore[call-overload]
        counts: dict[str, int] = {}
        skipped = 0
        for resolution in reconcile(pending_older_than=datetime.timedelta(seconds=seconds)):
            self.stdout.write(
                f"ETX-{resolution.transaction_id} {resolution.kind}: {resolution.status} ({resolution.how})"
            )
            if not resolution.resolved:
                skipped += 1
                continue
            counts[resolution.status] = counts.get(resolution.status, 0) + 1
        resolved = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"
        self.stdout.write(f"reconciled: {resolved}; skipped: {skipped}")
