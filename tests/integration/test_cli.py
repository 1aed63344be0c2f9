"""The ``receivables`` command line: ledger verify, create-api-token, demo."""

from __future__ import annotations

import argparse
import datetime
from collections.abc import Callable
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import F

from receivables.cli import COMMANDS, Command, find, main
from receivables.core import configuration
from receivables.core.commands import HIDDEN_BASE_OPTIONS, ShowDefaults
from receivables.customers import services as customers
from receivables.customers.models import Customer
from receivables.demo import SEED_CUSTOMER
from receivables.documents import services
from receivables.documents.models import Document
from receivables.documents.services import LineInput
from receivables.ledger.models import Posting
from receivables.money import Money
from tests.conftest import ApiClient, ledger_is_clean


def small_book() -> Customer:
    alice = customers.create_customer(name="Alice Brown", currency="GBP")
    invoice = services.create_invoice(
        alice.pk, [LineInput("Cable", Decimal(2), Decimal("10.00"), Decimal(20))], date=datetime.date(2026, 3, 1)
    )
    credit = services.create_credit_note(alice.pk, reason="goodwill", amount=Money(2500, "GBP"))
    services.allocate(credit.pk, invoice.pk, Money(2000, "GBP"))
    services.record_payment(alice.pk, Money(700, "GBP"), "cash")
    return alice


def verify_output() -> str:
    out = StringIO()
    call_command("ledger_verify", stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("argv", "target", "rest"),
    [
        (["ledger", "verify"], "ledger_verify", []),
        (["gateway", "reconcile", "--pending-older-than", "0"], "gateway_reconcile", ["--pending-older-than", "0"]),
        (["create-api-token", "--user", "x"], "create_api_token", ["--user", "x"]),
        (["create-user", "bob", "--role", "viewer"], "create_user", ["bob", "--role", "viewer"]),
        (["migrate"], "migrate", []),
        (["demo", "--customers", "3"], "demo", ["--customers", "3"]),
        (["bill-run", "--date", "2026-01-01"], "bill_run", ["--date", "2026-01-01"]),
    ],
)
def test_the_public_names_find_their_management_commands(argv: list[str], target: str, rest: list[str]) -> None:
    found = find(argv)
    assert found is not None
    command, arguments = found
    assert (command.target, arguments) == (target, rest)


@pytest.mark.parametrize("argv", [["ledger_verify"], ["ledger"], ["flush"], ["create_user", "bob"], []])
def test_django_names_and_unknown_words_are_not_commands(argv: list[str]) -> None:
    assert find(argv) is None


def test_ledger_verify_passes_on_a_clean_book(bank: dict) -> None:
    small_book()
    output = verify_output()
    assert "all invariants hold" in output
    assert "FAIL" not in output


def corrupt_outstanding() -> None:
    Document.objects.filter(type="invoice").update(outstanding_minor=F("outstanding_minor") + 1)


def corrupt_balance() -> None:
    Customer.objects.update(balance_minor=F("balance_minor") + 1)


def corrupt_posting() -> None:
    if connection.vendor == "postgresql":
        # PostgreSQL's deferred trigger refuses an unbalanced entry at commit; an owner of the
        # table can switch it off (inside this test's transaction only), and verify still sees it.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # check the book's entries now (they balance)
            cursor.execute("ALTER TABLE ledger_posting DISABLE TRIGGER ledger_entry_balances_on_posting")
    first = Posting.objects.filter(debit_minor__gt=0).order_by("id").first()
    Posting.objects.filter(pk=first.pk).update(debit_minor=F("debit_minor") + 1)


def corrupt_number() -> None:
    Document.objects.filter(type="payment").update(number="PAY-000009")


CORRUPTIONS: list[tuple[Callable[[], None], str, str]] = [
    (corrupt_outstanding, "O/S = total − allocations", "outstanding 401 but total − allocations is 400"),
    (corrupt_balance, "accounts receivable equals the sum of customer balances", "customer balances add to"),
    (corrupt_posting, "every journal entry balances", "does not balance in GBP"),
    (corrupt_number, "unique and gapless", "missing [1]"),
]


@pytest.mark.parametrize(("corrupt", "check", "report"), CORRUPTIONS, ids=[c[0].__name__ for c in CORRUPTIONS])
def test_ledger_verify_exits_1_with_a_report_after_a_row_is_corrupted(
    bank: dict, corrupt: Callable[[], None], check: str, report: str
) -> None:
    small_book()
    assert "all invariants hold" in verify_output()
    corrupt()
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("ledger_verify", stdout=out)
    assert failed.value.returncode == 1
    failing = [line for line in out.getvalue().splitlines() if line.startswith("FAIL")]
    assert any(check in line for line in failing), out.getvalue()
    assert report in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_receivables_command_exits_with_the_verify_status(bank: dict, capsys: pytest.CaptureFixture[str]) -> None:
    """Through ``receivables.cli.main``, as a shell would run it (committed data: the command closes connections)."""
    small_book()
    main(["ledger", "verify"])  # exit 0: no SystemExit
    assert "all invariants hold" in capsys.readouterr().out
    corrupt_outstanding()
    with pytest.raises(SystemExit) as exited:
        main(["ledger", "verify"])
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert "FAIL" in captured.out
    assert "problem(s) found" in captured.err


def test_create_api_token_prints_one_token_that_authenticates(db: None) -> None:
    out = StringIO()
    call_command("create_api_token", user="integrator", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    token = lines[0]
    assert token.startswith("rcv_") and token == token.strip()
    assert ApiClient(token).get("/customers").status == 200
    assert ApiClient(token + "x").get("/customers").status == 401

    again = StringIO()
    call_command("create_api_token", user="integrator", role="viewer", stdout=again)
    second = again.getvalue().strip()
    assert second != token
    assert ApiClient(second).get("/customers").status == 200
    assert ApiClient(token).get("/customers").status == 200  # the first one still works


def test_demo_loads_the_seed_story_and_leaves_the_ledger_clean(db: None) -> None:
    out = StringIO()
    call_command("demo", customers=8, stdout=out)
    assert "seed story" in out.getvalue()
    alice = Customer.objects.filter(name=SEED_CUSTOMER).order_by("id").first()
    assert alice is not None and alice.number == "CUS-000001"
    call_command("create_api_token", user="reader", stdout=StringIO())
    token_out = StringIO()
    call_command("create_api_token", user="reader", stdout=token_out)
    api = ApiClient(token_out.getvalue().strip())
    refundables = api.get(f"/customers/{alice.pk}/refundables").body["items"]
    assert [(r["type"], r["amount"], r["outstanding"]) for r in refundables] == [("credit_note", "25.00", "5.00")]
    assert api.get(f"/customers/{alice.pk}").body["balance"] == "-5.00"
    assert Customer.objects.count() == 10  # Alice, Bruno (the subscription seed story) and 8 more
    assert Document.objects.filter(customer__auto_apply=False).exclude(customer=alice).exists()
    assert ledger_is_clean() == {}

    repeat = StringIO()
    call_command("demo", stdout=repeat)
    assert "already loaded" in repeat.getvalue()
    assert Customer.objects.count() == 10


README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_names_every_command_and_every_setting() -> None:
    text = README.read_text()
    for command in COMMANDS:
        assert f"| `receivables {command.name}" in text, command.name
    for setting in configuration.SETTINGS:
        assert f"| `{setting.name}`" in text, setting.name


@pytest.mark.parametrize("command", COMMANDS, ids=[c.name for c in COMMANDS])
def test_every_option_has_help_that_shows_its_default(command: Command) -> None:
    management = load_command_class(get_commands()[command.target], command.target)
    management.suppressed_base_arguments = HIDDEN_BASE_OPTIONS
    parser = management.create_parser("receivables", command.name, formatter_class=ShowDefaults)
    shown = [a for a in parser._actions if a.option_strings and a.help != argparse.SUPPRESS and a.dest != "help"]
    assert shown, command.name
    formatter = parser._get_formatter()
    for action in shown:
        assert action.help, (command.name, action.option_strings)
        assert "default" in (formatter._get_help_string(action) or "").lower(), (command.name, action.dest)
    text = parser.format_help()
    assert "--settings" not in text and "--traceback" not in text
