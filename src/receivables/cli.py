"""The ``receivables`` command: a thin front over Django's management commands."""

from __future__ import annotations

import os
import sys

# Two-word commands of the public contract, and the management command behind each.
TWO_WORD = {
    ("ledger", "verify"): "ledger_verify",
    ("gateway", "reconcile"): "gateway_reconcile",
    ("bank", "import"): "bank_import",
}


def translate(argv: list[str]) -> list[str]:
    if len(argv) >= 2 and (argv[0], argv[1]) in TWO_WORD:
        return [TWO_WORD[(argv[0], argv[1])], *argv[2:]]
    if argv and "-" in argv[0] and not argv[0].startswith("-"):
        return [argv[0].replace("-", "_"), *argv[1:]]
    return argv


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receivables.settings")
    from django.core.management import execute_from_command_line

    args = translate(list(sys.argv[1:] if argv is None else argv))
    execute_from_command_line(["receivables", *args])


if __name__ == "__main__":
    main()
