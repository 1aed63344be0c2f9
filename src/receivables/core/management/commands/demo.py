import os
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from receivables.core.commands import whole_number
from receivables.demo import load_demo


class Command(BaseCommand):
    help = "Load a small realistic data set, including both seed stories, and a demo login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--customers", type=whole_number(0, 100_000), default=40, help="customers to make besides the seed stories"
        )

    def handle(self, *args: object, **options: Any) -> None:
        call_command("migrate", verbosity=0)
        password = os.environ.get("RECEIVABLES_PASSWORD", "demo-password")
        summary = load_demo(customer_count=options["customers"], password=password)
        for line in summary:
            self.stdout.write(line)
