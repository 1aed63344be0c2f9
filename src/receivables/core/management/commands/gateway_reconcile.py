import datetime

from django.core.management.base import BaseCommand, CommandParser

from receivables.core.commands import whole_number
from receivables.gateways.reconcile import reconcile


class Command(BaseCommand):
    help = "Resolve e-transactions whose outcome is unknown, with their original idempotency keys."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--pending-older-than",
            type=whole_number(0, 10**9, "seconds"),
            default=60,
            metavar="SECONDS",
            help="also resolve calls recorded but unanswered for this long (a crashed process)",
        )

    def handle(self, *args: object, **options: object) -> None:
        age = datetime.timedelta(seconds=int(options["pending_older_than"]))  # type: ignore[call-overload]
        counts: dict[str, int] = {}
        for resolution in reconcile(pending_older_than=age):
            counts[resolution.status] = counts.get(resolution.status, 0) + 1
            how = "sent again" if resolution.resent else "looked up"
            self.stdout.write(f"ETX-{resolution.transaction_id} {resolution.kind}: {resolution.status} ({how})")
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to resolve"
        self.stdout.write(f"reconciled: {summary}")
