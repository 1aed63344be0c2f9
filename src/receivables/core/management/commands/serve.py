import os
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from receivables.core import business_settings


class Command(BaseCommand):
    help = "Serve the staff screens and the API with gunicorn (applies migrations first)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "3")))
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument("--no-migrate", action="store_true")

    def handle(self, *args: object, **options: object) -> None:
        if not options["no_migrate"]:
            call_command("migrate", verbosity=0)
        business_settings.record_if_changed(via="serve")
        self.stdout.write(f"Receivables on http://{options['host']}:{options['port']}/")
        self.stdout.flush()
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "receivables.wsgi:application",
            "--bind",
            f"{options['host']}:{options['port']}",
            "--workers",
            str(options["workers"]),
            "--threads",
            str(options["threads"]),
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "10",
        ]
        # Every worker must sign sessions with the same key; in development that key is the one
        # this process generated, handed on to gunicorn's workers.
        os.environ["SECRET_KEY"] = settings.SECRET_KEY
        os.execv(sys.executable, argv)
