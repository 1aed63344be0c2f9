"""The ``receivables`` command: Receivables' own commands by the names the README uses.

Each command is one line of ``COMMANDS``: its public name, the management command behind it and
a one-line description. Django's own management commands stay reachable as ``receivables django …``.
A refusal (a bad option, a bad setting, no database) is one line on stderr and exit status 2.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import NoReturn

import django
from django.core.exceptions import ImproperlyConfigured
from django.core.management import execute_from_command_line, get_commands, load_command_class
from django.core.management.base import CommandError
from django.db import DatabaseError

# Importing these loads no settings: `receivables --help` works whatever the environment holds.
from receivables.core import commands, configuration, startup

USAGE = """\
usage: receivables COMMAND [OPTIONS]      (receivables COMMAND --help shows its options)

Accounts receivable and subscription billing. Settings come from the environment
(DATABASE_URL, default ./receivables.sqlite3; see the README's Configuration table).

commands:
"""


@dataclass(frozen=True)
class Command:
    name: str  # as the README and the contract name it
    target: str  # the management command that does it
    summary: str
    # Must the database be migrated first? (migrate and demo make it so; serve checks it itself)
    needs_schema: bool = True


COMMANDS: tuple[Command, ...] = (
    Command("migrate", "migrate", "create or upgrade the database named by DATABASE_URL", needs_schema=False),
    Command("demo", "demo", "load demo customers, documents and plans (both seed stories) and a login", False),
    Command("serve", "serve", "serve the staff screens at / and the API at /api/v1/ (gunicorn)", False),
    Command("create-user", "create_user", "create a staff user with a role"),
    Command("create-api-token", "create_api_token", "print a new API token for a user, created if needed"),
    Command("ledger verify", "ledger_verify", "check every ledger and document invariant (exit 1 if one fails)"),
    Command("gateway reconcile", "gateway_reconcile", "settle e-transactions whose outcome is unknown"),
    Command("bill-run", "bill_run", "renew every subscription whose period ends on or before a date"),
    Command("bank import", "bank_import", "import a bank statement file and match its lines to invoices"),
)
DJANGO = "django"


def find(argv: list[str]) -> tuple[Command, list[str]] | None:
    """The command named at the start of ``argv`` (one or two words), and the arguments after it."""
    for command in COMMANDS:
        words = command.name.split()
        if argv[: len(words)] == words:
            return command, argv[len(words) :]
    return None


def usage() -> str:
    width = max(len(c.name) for c in COMMANDS) + 4
    lines = [f"  {c.name:<{width}}{c.summary}" for c in COMMANDS]
    lines.append(f"  {DJANGO + ' COMMAND':<{width}}one of Django's own management commands (receivables django help)")
    return USAGE + "\n".join(lines) + "\n"


def refuse(*messages: str, name: str = "") -> NoReturn:
    """One line per problem on stderr, then exit status 2."""
    prefix = f"receivables {name}" if name else "receivables"
    for message in messages:
        print(f"{prefix}: {message}", file=sys.stderr)
    raise SystemExit(commands.USAGE_ERROR)


def _set_up() -> None:
    """Load the settings and the applications; a bad setting is refused with one line per problem."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receivables.settings")
    try:
        django.setup()
    except configuration.SettingError:
        refuse(*(str(problem) for problem in configuration.problems()))
    except ImproperlyConfigured as error:
        refuse(" ".join(str(error).split()))


def run(command: Command, args: list[str]) -> None:
    management = load_command_class(get_commands()[command.target], command.target)
    management.suppressed_base_arguments = commands.HIDDEN_BASE_OPTIONS
    parser = management.create_parser("receivables", command.name, formatter_class=commands.ShowDefaults)
    try:
        options = vars(parser.parse_args(args))
    except CommandError as error:  # argparse's complaint, without the usage block
        refuse(str(error).removeprefix("Error: "), name=command.name)
    problems = startup.database_problems(needs_schema=command.needs_schema)
    if problems:
        refuse(problems[0])
    positional = options.pop("args", ())
    try:
        management.execute(*positional, **options)
    except CommandError as error:
        print(f"receivables {command.name}: {error}", file=sys.stderr)
        raise SystemExit(error.returncode) from None
    except DatabaseError as error:
        refuse(startup.database_line(error))
    except KeyboardInterrupt:
        raise SystemExit(130) from None


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(usage(), end="")
        return
    if args[0] == DJANGO:
        _set_up()
        execute_from_command_line(["receivables django", *args[1:]])
        return
    found = find(args)
    if found is None:
        refuse(f"{args[0]!r} is not a command; `receivables --help` lists them")
    _set_up()
    run(*found)


if __name__ == "__main__":
    main()
