import os
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from receivables.core import business_settings, startup
from receivables.core.commands import Refused, whole_number


class Command(BaseCommand):
    help = "Serve the staff screens and the API with gunicorn (applies migrations first)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (0.0.0.0: every one)")
        parser.add_argument("--port", type=whole_number(1, 65535), default=8000, help="the TCP port to listen on")
        parser.add_argument(
            "--workers",
            type=whole_number(1, 64),
            default=settings.ENV["WEB_CONCURRENCY"],
            help="gunicorn worker processes (WEB_CONCURRENCY)",
        )
        parser.add_argument("--threads", type=whole_number(1, 64), default=4, help="threads per worker process")
        parser.add_argument("--no-migrate", action="store_true", help="start without applying pending migrations")

    def handle(self, *args: object, **options: object) -> None:
        # Refuse to start on any bad setting or an unusable database, before a worker is forked.
        problems = startup.setting_problems() + startup.database_problems(needs_schema=bool(options["no_migrate"]))
        if problems:
            raise Refused("; ".join(problems))
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
