from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from receivables.banking.formats.base import FORMATS
from receivables.banking.importing import import_statement
from receivables.core.errors import ReceivablesError


class Command(BaseCommand):
    help = "Import a bank statement file for a bank account and match its lines to open invoices."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="camt.053 XML, MT940, OFX/QFX or CSV")
        parser.add_argument("--bank-account", required=True, help="the id of the bank account the statement is for")
        parser.add_argument("--format", choices=FORMATS, default=None, help="the file's format (default: detected)")

    def handle(self, *args: object, **options: object) -> None:
        path = options["file"]
        assert isinstance(path, Path)
        try:
            with path.open("rb") as stream:
                chosen = str(options["format"]) if options["format"] else None
                result = import_statement(stream, options["bank_account"], format=chosen, file_name=path.name)
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror}") from None
        except ReceivablesError as error:
            raise CommandError(f"{error.code}: {error}") from None
        self.stdout.write(
            f"statement {result.statement.pk}: imported {result.imported}, matched {result.matched}, "
            f"suggested {result.suggested}, unmatched {result.unmatched}, skipped {result.skipped}"
        )
