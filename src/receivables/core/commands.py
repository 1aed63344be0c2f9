"""What every ``receivables`` command shares: option types that refuse out-of-range values in one
line, a help layout that shows each option's default, and the exit status of a refusal.

Exit statuses: 0 done, 1 the command ran and found a problem (``ledger verify``), 2 the command
could not run as asked (a bad option, a bad setting, no database).
"""

from __future__ import annotations

import argparse
import datetime
from collections.abc import Callable

from django.core.management.base import CommandError, DjangoHelpFormatter

from receivables.core import inputs
from receivables.core.errors import ReceivablesError

USAGE_ERROR = 2

# Django's own options that mean nothing to a Receivables operator; they stay under `receivables django`.
HIDDEN_BASE_OPTIONS = {
    "--version",
    "--settings",
    "--pythonpath",
    "--traceback",
    "--no-color",
    "--force-color",
    "--skip-checks",
}


class Refused(CommandError):
    """The command cannot run as asked: one line on stderr, exit status 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message, returncode=USAGE_ERROR)


class ShowDefaults(DjangoHelpFormatter):
    """Every option's help ends with its default, unless its text already says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if not action.option_strings or action.default is argparse.SUPPRESS or "default" in text.lower():
            return text
        if action.nargs == 0:
            return f"{text} (default: off)"
        shown = "none" if action.default is None else "%(default)s"
        return f"{text} (default: {shown})"


def whole_number(low: int, high: int, unit: str = "") -> Callable[[str], int]:
    """An option's integer type with its range; the message names the range."""
    what = f" {unit}" if unit else ""

    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number{what}") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}{what}, not {number}")
        return number

    return parse


def business_date(text: str) -> datetime.date:
    """A date option: YYYY-MM-DD between 1900-01-01 and 2999-12-31 (``inputs.date``'s rule)."""
    if not text:
        raise argparse.ArgumentTypeError("must be a date (YYYY-MM-DD)")
    try:
        return inputs.date(text, "date")
    except ReceivablesError as error:
        raise argparse.ArgumentTypeError(error.detail) from None
