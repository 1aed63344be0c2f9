from django.core.management.base import BaseCommand, CommandError

from receivables.core.checks import verify


class Command(BaseCommand):
    help = "Check every ledger and document invariant; exit 1 with a report if any fails."

    def handle(self, *args: object, **options: object) -> None:
        failures = 0
        for name, problems in verify().items():
            mark = "ok  " if not problems else "FAIL"
            self.stdout.write(f"{mark} {name}")
            for problem in problems:
                failures += 1
                self.stdout.write(f"     - {problem}")
        if failures:
            raise CommandError(f"{failures} problem(s) found", returncode=1)
        self.stdout.write("all invariants hold")
