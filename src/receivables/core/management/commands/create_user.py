import getpass
import os
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from receivables.core.commands import Refused
from receivables.core.errors import ReceivablesError
from receivables.core.roles import ROLES, assign_role

PASSWORD_VARIABLE = "RECEIVABLES_PASSWORD"


class Command(BaseCommand):
    help = f"Create a staff user. The password comes from {PASSWORD_VARIABLE}, else a prompt on the terminal."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the login name")
        parser.add_argument("--role", default="clerk", choices=ROLES, help="what the user may do")
        parser.add_argument("--email", default="", help="the user's e-mail address (default: none)")

    def handle(self, *args: object, **options: object) -> None:
        name = str(options["name"])
        password = self._password(name)
        if len(password) < 8:
            raise Refused("the password must have at least 8 characters")
        user_model = get_user_model()
        if user_model.objects.filter(username=name).exists():
            raise Refused(f"a user named {name!r} already exists")
        try:
            with transaction.atomic():
                user = user_model.objects.create_user(username=name, email=str(options["email"]), password=password)
                assign_role(user, str(options["role"]))
        except ReceivablesError as error:
            raise Refused(str(error)) from None
        self.stdout.write(f"created {options['role']} {name}")

    def _password(self, name: str) -> str:
        if os.environ.get(PASSWORD_VARIABLE):
            return os.environ[PASSWORD_VARIABLE]
        if not sys.stdin.isatty():
            raise Refused(f"{PASSWORD_VARIABLE} is not set and there is no terminal to ask for the password")
        return getpass.getpass(f"Password for {name}: ")
