import getpass
import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from receivables.core.errors import ReceivablesError
from receivables.core.roles import ROLES, assign_role


class Command(BaseCommand):
    help = "Create a staff user. The password comes from RECEIVABLES_PASSWORD, else a prompt."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--role", default="clerk", choices=ROLES)
        parser.add_argument("--email", default="")

    def handle(self, *args: object, **options: object) -> None:
        name = str(options["name"])
        password = os.environ.get("RECEIVABLES_PASSWORD") or getpass.getpass(f"Password for {name}: ")
        if len(password) < 8:
            raise CommandError("the password must have at least 8 characters")
        user_model = get_user_model()
        if user_model.objects.filter(username=name).exists():
            raise CommandError(f"a user named {name!r} already exists")
        try:
            with transaction.atomic():
                user = user_model.objects.create_user(username=name, email=str(options["email"]), password=password)
                assign_role(user, str(options["role"]))
        except ReceivablesError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"created {options['role']} {name}")
