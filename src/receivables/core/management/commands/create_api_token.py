from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from receivables.core.commands import whole_number
from receivables.core.roles import ROLES, assign_role, is_service_account
from receivables.core.tokens import create_token


class Command(BaseCommand):
    help = "Print a new API token for a user (created if needed), alone on its line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="the user the token acts as (required)")
        parser.add_argument(
            "--role",
            choices=ROLES,
            default=None,
            help="give the user this role (default: keep an existing user's role; clerk for a new user)",
        )
        parser.add_argument(
            "--expires-in-days", type=whole_number(1, 3650, "days"), default=None, help="days until the token expires"
        )
        parser.add_argument(
            "--service-account",
            action="store_true",
            help="a new user is a service account (an integration): never the second person of a refund",
        )

    def handle(self, *args: object, **options: object) -> None:
        with transaction.atomic():
            user, created = get_user_model().objects.get_or_create(username=str(options["user"]))
            if created:
                user.set_unusable_password()
                user.save()
            if options["role"] or created:
                service = bool(options["service_account"]) if created else is_service_account(user)
                assign_role(user, str(options["role"] or "clerk"), service_account=service)
            token = create_token(user, expires_in_days=options["expires_in_days"])  # type: ignore[arg-type]
        self.stdout.write(token)
