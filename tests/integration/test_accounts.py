"""Customer accounts: statements, ageing, search, auto-apply, reversals, credit notes, debit memos, bank accounts."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from receivables.core.errors import Conflict, ReceivablesError
from receivables.customers import selectors as customer_selectors
from receivables.customers import services as customers
from receivables.customers.models import BankAccount, Customer
from receivables.documents import selectors, services
from receivables.documents.models import Allocation, Document, Status
from receivables.documents.services import LineInput
from receivables.ledger.models import Posting
from receivables.money import Money
from receivables.rules import posting
from tests.conftest import ApiClient, ledger_is_clean

pytestmark = pytest.mark.django_db
DAY = datetime.date(2026, 3, 1)


def gbp(text: str) -> Money:
    return Money.parse(text, "GBP")


def line(price: str, quantity: str = "1", rate: str = "0", description: str = "Item") -> LineInput:
    return LineInput(description, Decimal(quantity), Decimal(price), Decimal(rate))


def invoice(customer: Customer, price: str, day: datetime.date = DAY, rate: str = "0") -> Document:
    return services.create_invoice(customer.pk, [line(price, rate=rate)], date=day)


def fresh(document: Document) -> Document:
    return Document.objects.get(pk=document.pk)


def customer_named(name: str = "Alice Brown", currency: str = "GBP", **options: object) -> Customer:
    return customers.create_customer(name=name, currency=currency, **options)


# statements -----------------------------------------------------------------------------


@pytest.fixture
def busy_customer(bank: dict) -> Customer:
    """25 documents over 25 days, several on the same day, raising and lowering."""
    alice = customer_named()
    for index in range(25):
        day = DAY + datetime.timedelta(days=index // 2)
        if index % 3 == 2:
            services.record_payment(alice.pk, gbp(f"{index}.50"), "cheque", date=day)
        elif index % 5 == 4:
            services.create_credit_note(alice.pk, reason="goodwill", amount=gbp("3.00"), date=day)
        else:
            invoice(alice, f"{10 + index}.00", day)
    customers.create_customer(name="Someone Else", currency="GBP")
    return Customer.objects.get(pk=alice.pk)


def running_balances(statement: selectors.Statement) -> list[tuple[int, int]]:
    return [(line.document.pk, line.balance) for line in statement.lines]


def test_full_statement_runs_from_opening_to_the_customer_balance(busy_customer: Customer) -> None:
    full = selectors.statement(busy_customer)
    assert full.opening_balance == 0
    assert len(full.lines) == 25
    assert full.closing_balance == full.lines[-1].balance == busy_customer.balance_minor
    running = 0
    for entry in full.lines:
        running += (entry.debit or 0) - (entry.credit or 0)
        assert entry.balance == running
    keys = [(entry.document.date, entry.document.pk) for entry in full.lines]
    assert keys == sorted(keys)


@pytest.mark.parametrize("page_size", [1, 7, 10, 24, 25, 100])
def test_every_page_continues_the_running_balance_of_the_full_statement(
    busy_customer: Customer, page_size: int
) -> None:
    full = running_balances(selectors.statement(busy_customer))
    pages = -(-25 // page_size)
    paged: list[tuple[int, int]] = []
    for page in range(1, pages + 1):
        result = selectors.statement(busy_customer, page=page, page_size=page_size)
        assert (result.page, result.pages) == (page, pages)
        assert result.opening_balance == 0
        assert result.closing_balance == busy_customer.balance_minor
        paged += running_balances(result)
    assert paged == full


def test_page_two_of_a_date_range_starts_from_the_opening_balance(busy_customer: Customer) -> None:
    first, last = DAY + datetime.timedelta(days=3), DAY + datetime.timedelta(days=9)
    whole_range = selectors.statement(busy_customer, first, last)
    before = [d for d in Document.objects.filter(customer=busy_customer, date__lt=first)]
    expected_opening = sum(d.total_minor if d.is_raising else -d.total_minor for d in before)
    assert whole_range.opening_balance == expected_opening != 0
    assert all(first <= entry.document.date <= last for entry in whole_range.lines)
    page_two = selectors.statement(busy_customer, first, last, page=2, page_size=5)
    assert running_balances(page_two) == running_balances(whole_range)[5:10]
    assert page_two.closing_balance == whole_range.closing_balance == whole_range.lines[-1].balance


def test_a_page_past_the_end_shows_the_last_page(busy_customer: Customer) -> None:
    last = selectors.statement(busy_customer, page=99, page_size=10)
    assert (last.page, last.pages, len(last.lines)) == (3, 3, 5)


def test_statement_pages_through_the_api(api: ApiClient, busy_customer: Customer) -> None:
    full = api.get(f"/customers/{busy_customer.pk}/statement").body
    page_two = api.get(f"/customers/{busy_customer.pk}/statement", page=2, page_size=10).body
    assert (page_two["page"], page_two["pages"]) == (2, 3)
    assert page_two["lines"] == full["lines"][10:20]
    assert (
        page_two["closing_balance"]
        == full["closing_balance"]
        == api.get(f"/customers/{busy_customer.pk}").body["balance"]
    )
    upside_down = api.get(f"/customers/{busy_customer.pk}/statement", **{"from": "2026-03-09", "to": "2026-03-01"})
    assert (upside_down.status, upside_down.body["error"]) == (422, "invalid_range")


# ageing ---------------------------------------------------------------------------------

AS_OF = datetime.date(2026, 6, 30)
# Days past due of each invoice, and the bucket each must fall in.
OVERDUE = {-10: "current", 0: "current", 1: "1_30", 30: "1_30", 31: "31_60", 60: "31_60", 61: "61_90", 90: "61_90"}
OVERDUE |= {91: "over_90", 400: "over_90"}


def test_aged_receivables_puts_each_outstanding_amount_in_its_bucket(bank: dict) -> None:
    alice = customer_named(payment_terms_days=30)
    expected = dict.fromkeys(selectors.AGEING_BUCKETS, 0)
    for index, (days, bucket) in enumerate(OVERDUE.items()):
        amount = 2**index  # distinct bits, so a misplaced amount shows
        day = AS_OF - datetime.timedelta(days=days + 30)
        services.create_invoice(alice.pk, [line(Money(amount, "GBP").to_decimal_string())], date=day)
        expected[bucket] += amount
        assert selectors.bucket_of(days) == bucket
    # A partly paid invoice counts only what is still outstanding; a closed one not at all.
    part_paid = invoice(alice, "100.00", AS_OF - datetime.timedelta(days=100))
    payment = services.record_payment(alice.pk, gbp("160.00"), "cash", date=AS_OF)
    services.allocate(payment.pk, part_paid.pk, gbp("60.00"))
    expected["61_90"] += 4000
    closed = invoice(alice, "7.00", AS_OF - datetime.timedelta(days=200))
    services.allocate(payment.pk, closed.pk, gbp("7.00"))
    # A debit memo is due the day it is raised.
    services.create_debit_memo(alice.pk, [line("5.00")], date=AS_OF - datetime.timedelta(days=45))
    expected["31_60"] += 500
    # Other customers and other currencies do not leak in.
    invoice(customer_named("Bob Clarke"), "1000.00", AS_OF - datetime.timedelta(days=300))
    services.create_invoice(customer_named("Carla", "EUR").pk, [line("9.00")], date=AS_OF)

    [ageing] = selectors.aged_receivables(AS_OF, fresh_customer(alice))
    assert ageing.currency == "GBP"
    assert ageing.buckets == expected
    assert ageing.unapplied_credits == 16000 - 6000 - 700

    book = {row.currency: row for row in selectors.aged_receivables(AS_OF)}
    assert set(book) == {"GBP", "EUR"}
    assert book["GBP"].buckets["over_90"] == expected["over_90"] + 100000
    assert book["EUR"].buckets == {**dict.fromkeys(selectors.AGEING_BUCKETS, 0), "current": 900}


def fresh_customer(customer: Customer) -> Customer:
    return Customer.objects.get(pk=customer.pk)


def test_ageing_through_the_api(api: ApiClient, bank: dict) -> None:
    alice = customer_named(payment_terms_days=0)
    invoice(alice, "12.34", AS_OF - datetime.timedelta(days=40))
    answer = api.get(f"/customers/{alice.pk}/aged-receivables", as_of=AS_OF.isoformat())
    assert answer.status == 200
    [row] = answer.body["items"]
    assert (row["days_31_60"], row["total"], row["current"]) == ("12.34", "12.34", "0.00")


# search ---------------------------------------------------------------------------------


@pytest.fixture
def directory(db: None) -> dict[str, Customer]:
    names = ["Alice Brown", "alan smith", "Brown & Co", "Émile Zola", "123 Trading", "Bob Clarke"]
    made = {name: customer_named(name, email=f"{name.split()[0].lower()}@example.com") for name in names}
    return made


def found(search: str = "", initial: str = "") -> list[str]:
    return [c.name for c in customer_selectors.search_customers(search, initial)]


def test_search_by_text_is_case_insensitive_and_matches_anywhere_in_the_name(directory: dict) -> None:
    assert found("brown") == ["Alice Brown", "Brown & Co"]
    assert found("  SMITH ") == ["alan smith"]
    assert found("& co") == ["Brown & Co"]
    assert found("nobody") == []
    assert len(found()) == len(found("", "")) == 6


def test_search_by_number_and_email(directory: dict) -> None:
    bob = directory["Bob Clarke"]
    assert found(bob.number) == ["Bob Clarke"]
    assert found(bob.number.lower()) == ["Bob Clarke"]
    assert found("alan@") == ["alan smith"]


def test_filter_by_initial(directory: dict) -> None:
    # Name order between "alan" and "Alice" depends on the database's collation.
    assert set(found(initial="a")) == set(found(initial="A")) == {"Alice Brown", "alan smith"}
    assert found(initial="B") == ["Bob Clarke", "Brown & Co"]
    assert set(found(initial="#")) == {"Émile Zola", "123 Trading"}
    assert found(initial="Z") == []
    assert found("brown", "B") == ["Brown & Co"]


def test_search_through_the_api(api: ApiClient, directory: dict) -> None:
    answer = api.get("/customers", search="brown", initial="b")
    assert [c["name"] for c in answer.body["items"]] == ["Brown & Co"]
    assert answer.body["total"] == 1
    page = api.get("/customers", limit=2, offset=2).body
    assert len(page["items"]) == 2 and page["total"] == 6
    assert api.get("/customers", initial="ab").status == 422


def test_renaming_moves_the_customer_to_another_initial(directory: dict) -> None:
    customers.update_customer(directory["Bob Clarke"].pk, name="Zed Clarke", email="", auto_apply=False)
    assert "Zed Clarke" in found(initial="Z")


# auto-apply -----------------------------------------------------------------------------


def test_auto_apply_settles_the_oldest_invoices_first(bank: dict) -> None:
    auto = customer_named(auto_apply=True)
    # Created newest first, so id order and date order differ.
    newest = invoice(auto, "10.00", DAY + datetime.timedelta(days=20))
    middle = invoice(auto, "20.00", DAY + datetime.timedelta(days=10))
    oldest = invoice(auto, "30.00", DAY)
    payment = services.record_payment(auto.pk, gbp("40.00"), "cash", date=DAY + datetime.timedelta(days=30))
    assert [(fresh(d).outstanding_minor, fresh(d).status) for d in (oldest, middle, newest)] == [
        (0, Status.CLOSED),
        (1000, Status.OPEN),
        (1000, Status.OPEN),
    ]
    assert (fresh(payment).outstanding_minor, fresh(payment).status) == (0, Status.CLOSED)
    assert list(Allocation.objects.order_by("id").values_list("target_id", "amount_minor")) == [
        (oldest.pk, 3000),
        (middle.pk, 1000),
    ]
    # A credit note goes the same way; what is left over waits for the next invoice.
    credit = services.create_credit_note(auto.pk, reason="goodwill", amount=gbp("25.00"))
    assert (fresh(middle).outstanding_minor, fresh(newest).outstanding_minor) == (0, 0)
    assert fresh(credit).outstanding_minor == 500
    later = invoice(auto, "8.00", DAY + datetime.timedelta(days=40))
    assert (fresh(credit).outstanding_minor, fresh(later).outstanding_minor) == (0, 300)
    assert fresh_customer(auto).balance_minor == 300
    assert ledger_is_clean() == {}


def test_without_auto_apply_nothing_is_applied(bank: dict) -> None:
    manual = customer_named()
    invoice(manual, "30.00")
    services.record_payment(manual.pk, gbp("40.00"), "cash")
    assert not Allocation.objects.exists()
    assert sorted(d.outstanding_minor for d in Document.objects.all()) == [3000, 4000]


def test_held_credits_are_not_auto_applied_until_released(bank: dict) -> None:
    auto = customer_named(auto_apply=True)
    target = invoice(auto, "30.00")
    held = services.create_credit_note(auto.pk, reason="goodwill", amount=gbp("5.00"), hold=True)
    assert fresh(target).outstanding_minor == 3000
    services.release_credit(held.pk)
    assert (fresh(target).outstanding_minor, fresh(held).status) == (2500, Status.CLOSED)


# allocation reversal --------------------------------------------------------------------


def test_reversing_an_allocation_reopens_both_documents(bank: dict) -> None:
    alice = customer_named()
    credit = services.create_credit_note(alice.pk, reason="returned_goods", amount=gbp("25.00"))
    target = invoice(alice, "20.00")
    allocation = services.allocate(credit.pk, target.pk, gbp("20.00"))
    balance = fresh_customer(alice).balance_minor
    assert (fresh(target).status, fresh(credit).outstanding_minor) == (Status.CLOSED, 500)

    reversal = services.reverse_allocation(allocation.pk)
    assert (reversal.amount_minor, reversal.reversal_of_id) == (-2000, allocation.pk)
    assert (fresh(target).outstanding_minor, fresh(target).status) == (2000, Status.OPEN)
    assert (fresh(credit).outstanding_minor, fresh(credit).status) == (2500, Status.OPEN)
    assert Allocation.objects.filter(pk=allocation.pk).exists()  # kept, never deleted
    assert fresh_customer(alice).balance_minor == balance == -500

    with pytest.raises(Conflict) as again:
        services.reverse_allocation(allocation.pk)
    assert again.value.code == "already_reversed"
    with pytest.raises(Conflict) as of_reversal:
        services.reverse_allocation(reversal.pk)
    assert of_reversal.value.code == "is_reversal"
    # The money is free again.
    services.allocate(credit.pk, target.pk, gbp("20.00"))
    assert ledger_is_clean() == {}


def test_reversing_a_closed_credit_reopens_it(api: ApiClient, bank: dict) -> None:
    alice = customer_named()
    target = invoice(alice, "20.00")
    payment = services.record_payment(alice.pk, gbp("20.00"), "cash")
    allocation = api.post("/allocations", {"source": payment.pk, "target": target.pk})
    assert allocation.status == 201 and allocation.body["amount"] == "20.00"
    assert fresh(payment).status == Status.CLOSED
    reversal = api.post(f"/allocations/{allocation.body['id']}/reverse")
    assert reversal.status == 201, reversal.body
    assert (reversal.body["amount"], reversal.body["reversal_of"]) == ("-20.00", allocation.body["id"])
    assert (fresh(payment).status, fresh(target).status) == (Status.OPEN, Status.OPEN)
    assert api.post(f"/allocations/{allocation.body['id']}/reverse").status == 409


# credit notes and debit memos -----------------------------------------------------------


def entry_of(document: Document) -> dict[str, tuple[int, int]]:
    postings = Posting.objects.filter(entry__document=document).select_related("account")
    return {p.account.code: (p.debit_minor, p.credit_minor) for p in postings}


def test_credit_note_with_lines_totals_its_lines_and_posts_returns_and_vat(bank: dict) -> None:
    alice = customer_named()
    credit = services.create_credit_note(
        alice.pk,
        reason="returned_goods",
        lines=[line("8.3333", quantity="2", rate="20"), line("0.99", quantity="3", rate="0", description="Cable")],
    )
    assert (credit.net_minor, credit.tax_minor, credit.total_minor) == (1667 + 297, 333, 1667 + 297 + 333)
    assert list(credit.lines.values_list("position", "net_minor", "tax_minor", "quantity", "unit_price")) == [
        (1, 1667, 333, "2", "8.3333"),
        (2, 297, 0, "3", "0.99"),
    ]
    assert entry_of(credit) == {
        posting.SALES_RETURNS: (1964, 0),
        posting.VAT_PAYABLE: (333, 0),
        posting.ACCOUNTS_RECEIVABLE: (0, 2297),
    }
    assert fresh_customer(alice).balance_minor == -2297


def test_credit_note_by_gross_amount_splits_out_the_tax(bank: dict) -> None:
    alice = customer_named()
    target = invoice(alice, "10.00", rate="20")
    credit = services.create_credit_note(
        alice.pk, reason="overcharge", amount=gbp("12.00"), tax_rate=Decimal(20), invoice_id=target.pk
    )
    assert (credit.net_minor, credit.tax_minor, credit.invoice_id) == (1000, 200, target.pk)
    with pytest.raises(ReceivablesError) as both:
        services.create_credit_note(alice.pk, reason="goodwill", amount=gbp("1.00"), lines=[line("1.00")])
    assert both.value.code == "amount_or_lines"
    with pytest.raises(ReceivablesError) as neither:
        services.create_credit_note(alice.pk, reason="goodwill")
    assert neither.value.code == "amount_or_lines"


def test_credit_note_with_lines_through_the_api(api: ApiClient, bank: dict) -> None:
    alice = customer_named()
    answer = api.post(
        "/credit-notes",
        {
            "customer": alice.pk,
            "reason": "damaged",
            "lines": [{"description": "Mug", "quantity": "2", "unit_price": "4.50", "tax_rate": "20"}],
        },
    )
    assert answer.status == 201, answer.body
    assert (answer.body["net"], answer.body["tax"], answer.body["amount"]) == ("9.00", "1.80", "10.80")
    assert answer.body["lines"][0]["net"] == "9.00"
    assert api.get(f"/customers/{alice.pk}").body["balance"] == "-10.80"


def test_debit_memo_raises_the_balance_and_can_be_settled(api: ApiClient, bank: dict) -> None:
    alice = customer_named()
    answer = api.post(
        "/debit-memos",
        {
            "customer": alice.pk,
            "reason": "chargeback",
            "date": "2026-03-05",
            "lines": [{"description": "Chargeback fee", "quantity": "1", "unit_price": "15.00", "tax_rate": "0"}],
        },
    )
    assert answer.status == 201, answer.body
    memo = Document.objects.get(pk=answer.body["id"])
    assert (memo.type, memo.number, memo.reason, memo.due_date) == (
        "debit_memo",
        "DBM-000001",
        "chargeback",
        datetime.date(2026, 3, 5),
    )
    assert entry_of(memo) == {posting.ACCOUNTS_RECEIVABLE: (1500, 0), posting.SALES: (0, 1500)}
    assert fresh_customer(alice).balance_minor == 1500
    payment = services.record_payment(alice.pk, gbp("15.00"), "cash")
    services.allocate(payment.pk, memo.pk)
    assert (fresh(memo).status, fresh_customer(alice).balance_minor) == (Status.CLOSED, 0)
    refused = api.post("/debit-memos", {"customer": alice.pk, "reason": "whim", "lines": [{**answer.body["lines"][0]}]})
    assert refused.status == 422
    assert ledger_is_clean() == {}


# bank accounts --------------------------------------------------------------------------


def cash_leg(payment: Document) -> str:
    return next(code for code, (debit, _) in entry_of(payment).items() if debit)


def test_bank_payments_go_to_the_default_account_unless_one_is_named(bank: dict) -> None:
    alice = customer_named()
    main, reserve = bank[("GBP", "Main GBP")], bank[("GBP", "Reserve GBP")]
    by_default = services.record_payment(alice.pk, gbp("1.00"), "bank_transfer")
    named = services.record_payment(alice.pk, gbp("2.00"), "cheque", bank_account_id=reserve.pk)
    assert (by_default.bank_account_id, named.bank_account_id) == (main.pk, reserve.pk)
    assert cash_leg(by_default) == main.ledger_account.code
    assert cash_leg(named) == reserve.ledger_account.code


def test_card_payments_wait_in_the_gateway_clearing_account(bank: dict) -> None:
    alice = customer_named()
    card = services.record_payment(alice.pk, gbp("3.00"), "card")
    assert card.bank_account_id is None
    assert cash_leg(card) == posting.CARD_GATEWAY_CLEARING


def test_a_new_default_replaces_the_old_one_in_its_currency_only(bank: dict) -> None:
    alice = customer_named()
    newer = customers.create_bank_account(name="New GBP", currency="GBP", is_default=True)
    assert services.find_cash_account(None, "GBP").bank_account_id == newer.pk
    assert services.find_cash_account(None, "EUR").bank_account_id == bank[("EUR", "Main EUR")].pk
    assert BankAccount.objects.filter(currency="GBP", is_default=True).count() == 1
    assert services.record_payment(alice.pk, gbp("1.00"), "cash").bank_account_id == newer.pk


def test_the_first_account_in_a_currency_is_the_default(db: None) -> None:
    first = customers.create_bank_account(name="Chase", currency="USD")
    second = customers.create_bank_account(name="Citi", currency="USD")
    assert (first.is_default, second.is_default) == (True, False)
    assert first.ledger_account.code != second.ledger_account.code


def test_no_default_account_in_the_currency_is_refused(db: None) -> None:
    usd = customer_named("Sam", "USD")
    with pytest.raises(ReceivablesError) as refused:
        services.record_payment(usd.pk, Money(100, "USD"), "bank_transfer")
    assert (refused.value.code, refused.value.field) == ("no_default_bank_account", "bank_account")
    assert not Document.objects.exists()
    assert services.record_payment(usd.pk, Money(100, "USD"), "card").bank_account_id is None


def test_open_ended_statements_include_every_document_however_old(bank: dict) -> None:
    alice = customer_named()
    ancient = invoice(alice, "5.00", datetime.date(1850, 1, 1))
    invoice(alice, "7.00", DAY)
    for page in (None, 1):
        result = selectors.statement(fresh_customer(alice), page=page)
        assert [entry.document.pk for entry in result.lines][:1] == [ancient.pk]
        assert (result.opening_balance, result.closing_balance) == (0, 1200)
    from_1900 = selectors.statement(fresh_customer(alice), datetime.date(1900, 1, 1), page=1)
    assert (from_1900.opening_balance, [e.balance for e in from_1900.lines]) == (500, [1200])
