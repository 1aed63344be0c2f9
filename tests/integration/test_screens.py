"""The staff screens through Django's test client: every page renders, forms refuse bad input beside the field."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from receivables.customers import services as customer_services
from receivables.documents import services as documents
from receivables.documents.models import Document, DocumentType
from receivables.money import Money
from receivables.refunds import services as refunds
from tests.conftest import ledger_is_clean, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(bank: dict) -> dict[str, Any]:
    """The first seed story: a £25 credit note paid a £20 invoice, £5 left to refund."""
    customer = customer_services.create_customer(name="Alice Brown", currency="GBP", email="alice@example.com")
    day = datetime.date(2026, 3, 2)
    credit = documents.create_credit_note(customer.pk, reason="returned_goods", amount=Money(2500, "GBP"), date=day)
    invoice = documents.create_invoice(
        customer.pk,
        [documents.LineInput("Cable", Decimal(2), Decimal("10.00"), Decimal(0))],
        date=day,
    )
    documents.allocate(credit.pk, invoice.pk, Money(2000, "GBP"))
    return {"customer": customer, "credit": credit, "invoice": invoice, "bank": bank[("GBP", "Main GBP")]}


@pytest.fixture
def staff(admin_user: Any) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def _pages(story: dict[str, Any]) -> list[str]:
    c, credit, invoice = story["customer"].pk, story["credit"].pk, story["invoice"].pk
    return [
        "/",
        "/customers/",
        "/customers/?q=alice",
        "/customers/?initial=A",
        f"/customers/{c}/",
        f"/customers/{c}/accounts/",
        f"/customers/{c}/accounts/?from=2026-01-01&to=2026-12-31&page=1",
        f"/customers/{c}/payment/",
        f"/customers/{c}/credit-note/",
        f"/customers/{c}/invoice/",
        f"/customers/{c}/allocate/",
        f"/customers/{c}/refund/",
        f"/customers/{c}/statement/",
        f"/documents/{credit}/",
        f"/documents/{invoice}/",
        "/refunds/held/",
        "/subscriptions/",
        "/plans/",
        "/bank-accounts/",
        "/ledger/",
        "/ledger/?verify=1",
    ]


def test_every_page_renders_for_staff(staff: Client, story: dict[str, Any]) -> None:
    for page in _pages(story):
        response = staff.get(page)
        assert response.status_code == 200, page
        assert b"<script>" not in response.content, f"{page} has an inline script"


def test_every_page_sends_strangers_to_login(story: dict[str, Any]) -> None:
    stranger = Client()
    for page in _pages(story):
        response = stranger.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/login/?next="), page


def test_login_page_and_logging_in(admin_user: Any) -> None:
    client = Client()
    assert client.get("/login/").status_code == 200
    refused = client.post("/login/", {"username": "admin", "password": "wrong"})
    assert refused.status_code == 200 and b"correct username" in refused.content
    answer = client.post("/login/", {"username": "admin", "password": "correct-horse-battery"})
    assert answer.status_code == 302 and answer["Location"] == "/"


def test_money_is_shown_for_people(staff: Client, story: dict[str, Any]) -> None:
    page = staff.get(f"/customers/{story['customer'].pk}/accounts/").content.decode()
    assert "-£5.00" in page and "£25.00" in page and "£20.00" in page


def test_yen_has_no_minor_units() -> None:
    from receivables.backoffice.templatetags.money import format_money

    assert format_money(100000, "JPY") == "¥100,000"
    assert format_money(-500, "GBP") == "-£5.00"
    assert format_money(2500, "GBP") == "£25.00"
    assert format_money(None, "GBP") == ""


def test_customer_list_filters_by_letter_and_search(staff: Client, story: dict[str, Any]) -> None:
    customer_services.create_customer(name="Zed Young", currency="GBP")
    assert b"Alice Brown" in staff.get("/customers/?initial=A").content
    assert b"Alice Brown" not in staff.get("/customers/?initial=Z").content
    assert b"Zed Young" in staff.get("/customers/?q=zed").content
    assert b"Alice Brown" in staff.get(f"/customers/?q={story['customer'].number}").content


def _count(doc_type: str) -> int:
    return Document.objects.filter(type=doc_type).count()


@pytest.mark.parametrize(
    ("path", "form", "field", "doc_type"),
    [
        ("payment", {"amount": "abc", "method": "bank_transfer"}, "amount", DocumentType.PAYMENT),
        ("payment", {"amount": "1.001", "method": "bank_transfer"}, "amount", DocumentType.PAYMENT),
        ("payment", {"amount": "10.00", "method": "barter"}, "method", DocumentType.PAYMENT),
        ("payment", {"amount": "10.00", "method": "cash", "date": "2026-13-01"}, "date", DocumentType.PAYMENT),
        ("credit-note", {"amount": "0", "reason": "goodwill"}, "amount", DocumentType.CREDIT_NOTE),
        ("credit-note", {"amount": "5.00", "reason": "whim"}, "reason", DocumentType.CREDIT_NOTE),
        (
            "credit-note",
            {"amount": "5.00", "reason": "goodwill", "tax_rate": "101"},
            "tax_rate",
            DocumentType.CREDIT_NOTE,
        ),
        ("invoice", {}, "lines[0].description", DocumentType.INVOICE),
        (
            "invoice",
            {"lines[1].description": "Cable", "lines[1].quantity": "x", "lines[1].unit_price": "1"},
            "lines[1].quantity",
            DocumentType.INVOICE,
        ),
    ],
)
def test_forms_refuse_bad_input_beside_the_field(
    staff: Client, story: dict[str, Any], path: str, form: dict, field: str, doc_type: str
) -> None:
    before = _count(doc_type)
    response = staff.post(f"/customers/{story['customer'].pk}/{path}/", form)
    assert response.status_code == 200
    assert f'id="{field}-error"'.encode() in response.content
    assert _count(doc_type) == before


def test_payment_credit_note_and_invoice_are_saved(staff: Client, story: dict[str, Any]) -> None:
    c = story["customer"].pk
    forms = {
        "payment": {"amount": "12.50", "method": "bank_transfer", "bank_account": story["bank"].pk},
        "credit-note": {"amount": "3.00", "reason": "goodwill", "tax_rate": "20"},
        "invoice": {"lines[0].description": "Plug", "lines[0].quantity": "3", "lines[0].unit_price": "2.50"},
    }
    for path, form in forms.items():
        response = staff.post(f"/customers/{c}/{path}/", form)
        assert response.status_code == 302, (path, response.content[:2000])
    story["customer"].refresh_from_db()
    assert story["customer"].balance_minor == -500 - 1250 - 300 + 750
    assert ledger_is_clean() == {}


def test_allocate_asks_then_applies(staff: Client, story: dict[str, Any]) -> None:
    c = story["customer"].pk
    invoice = documents.create_invoice(c, [documents.LineInput("Fuse", Decimal(1), Decimal("3.00"), Decimal(0))])
    choice = {"source": story["credit"].pk, "target": invoice.pk, "full": "1"}
    confirm = staff.post(f"/customers/{c}/allocate/", choice)
    assert confirm.status_code == 200 and b"Apply \xc2\xa33.00?" in confirm.content
    staff.post(f"/customers/{c}/allocate/", {**choice, "answer": "no"})
    invoice.refresh_from_db()
    assert invoice.outstanding_minor == 300
    staff.post(
        f"/customers/{c}/allocate/",
        {"source": story["credit"].pk, "target": invoice.pk, "amount": "3.00", "answer": "yes"},
    )
    invoice.refresh_from_db()
    assert invoice.outstanding_minor == 0


def test_allocate_refuses_more_than_outstanding(staff: Client, story: dict[str, Any]) -> None:
    c = story["customer"].pk
    invoice = documents.create_invoice(c, [documents.LineInput("Fuse", Decimal(1), Decimal("3.00"), Decimal(0))])
    response = staff.post(
        f"/customers/{c}/allocate/", {"source": story["credit"].pk, "target": invoice.pk, "amount": "4.00"}
    )
    assert response.status_code == 200 and b'id="amount-error"' in response.content
    missing = staff.post(f"/customers/{c}/allocate/", {"target": invoice.pk})
    assert missing.status_code == 200 and b'id="source-error"' in missing.content


def test_refund_os_lists_the_credit_note_with_five_pounds_outstanding(staff: Client, story: dict[str, Any]) -> None:
    page = staff.get(f"/customers/{story['customer'].pk}/refund/").content.decode()
    assert story["credit"].number in page and "£25.00" in page and "£5.00" in page
    assert f'value="{story["bank"].pk}" selected' in page
    assert "Refund Credit Note" in page
    accounts = staff.get(f"/customers/{story['customer'].pk}/accounts/").content.decode()
    assert f'href="/customers/{story["customer"].pk}/refund/">Refund O/S' in accounts


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"amount": "5.01"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "five"}, "amount"),
        ({"bank_account": ""}, "bank_account"),
        ({"source": ""}, "source"),
    ],
)
def test_refund_os_refuses_bad_choices(staff: Client, story: dict[str, Any], form: dict, field: str) -> None:
    choice = {"source": story["credit"].pk, "bank_account": story["bank"].pk, **form}
    for answer in ("", "yes"):
        response = staff.post(f"/customers/{story['customer'].pk}/refund/", {**choice, "answer": answer})
        assert response.status_code == 200
        assert f'id="{field}-error"'.encode() in response.content
    assert _count(DocumentType.REFUND) == 0


def test_refund_os_refuses_a_bank_account_in_another_currency(staff: Client, story: dict[str, Any], bank: dict) -> None:
    choice = {"source": story["credit"].pk, "bank_account": bank[("EUR", "Main EUR")].pk}
    response = staff.post(f"/customers/{story['customer'].pk}/refund/", choice)
    assert response.status_code == 200 and b'id="bank_account-error"' in response.content


def test_refund_os_asks_and_no_changes_nothing(staff: Client, story: dict[str, Any]) -> None:
    choice = {"source": story["credit"].pk, "bank_account": story["bank"].pk}
    confirm = staff.post(f"/customers/{story['customer'].pk}/refund/", choice)
    assert confirm.status_code == 200 and b"Create a new refund?" in confirm.content
    answer = staff.post(f"/customers/{story['customer'].pk}/refund/", {**choice, "amount": "5.00", "answer": "no"})
    assert answer.status_code == 302
    assert _count(DocumentType.REFUND) == 0


def test_refund_os_yes_creates_the_refund(staff: Client, story: dict[str, Any]) -> None:
    pytest.importorskip("receivables.refunds.services")
    choice = {"source": story["credit"].pk, "bank_account": story["bank"].pk, "amount": "5.00", "answer": "yes"}
    answer = staff.post(f"/customers/{story['customer'].pk}/refund/", choice)
    assert answer.status_code == 302
    refund = Document.objects.get(type=DocumentType.REFUND)
    story["credit"].refresh_from_db()
    assert (refund.total_minor, story["credit"].outstanding_minor) == (500, 0)
    page = staff.get(answer["Location"]).content.decode()
    assert refund.number in page
    assert ledger_is_clean() == {}


def test_viewers_cannot_write(story: dict[str, Any]) -> None:
    viewer = Client()
    viewer.force_login(make_user("val", "viewer"))
    assert viewer.get(f"/customers/{story['customer'].pk}/refund/").status_code == 200
    response = viewer.post(f"/customers/{story['customer'].pk}/payment/", {"amount": "1.00", "method": "cash"})
    assert response.status_code == 403


def test_pdfs_download(staff: Client, story: dict[str, Any]) -> None:
    pytest.importorskip("weasyprint")
    for path in (
        f"/documents/{story['invoice'].pk}.pdf",
        f"/documents/{story['credit'].pk}.pdf",
        f"/customers/{story['customer'].pk}/statement.pdf",
    ):
        response = staff.get(path)
        assert response.status_code == 200, path
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")


def test_a_pdf_asked_for_while_another_is_made_is_refused_with_retry_after(
    staff: Client, story: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """PDFs are made one at a time per server process, so a dozen at once cannot take every core."""
    pytest.importorskip("weasyprint")
    from receivables.backoffice.views import documents as document_views

    monkeypatch.setattr(document_views, "WAIT_FOR_RENDERING_SECONDS", 0.05)
    assert document_views._RENDERING.acquire(timeout=1)  # another viewer's PDF is being made
    try:
        busy = staff.get(f"/customers/{story['customer'].pk}/statement.pdf")
    finally:
        document_views._RENDERING.release()
    assert (busy.status_code, busy["Retry-After"]) == (503, "10")
    assert staff.get(f"/customers/{story['customer'].pk}/statement.pdf").status_code == 200


def test_statement_range_errors_are_shown(staff: Client, story: dict[str, Any]) -> None:
    c = story["customer"].pk
    bad = staff.get(f"/customers/{c}/accounts/?from=2026-02-30")
    assert bad.status_code == 200 and b'id="from-error"' in bad.content
    backwards = staff.get(f"/customers/{c}/accounts/?from=2026-05-01&to=2026-01-01")
    assert backwards.status_code == 200 and b'id="from-error"' in backwards.content


def test_an_exact_customer_number_finds_the_customer(staff: Client, story: dict[str, Any]) -> None:
    number = story["customer"].number
    page = staff.get(f"/customers/?q={number.lower()}").content.decode()
    assert "Alice Brown" in page


# --- held refunds and cancellations (the refunds and subscriptions areas) ----------------------


@pytest.fixture
def cancelled(bank: dict) -> dict[str, Any]:
    """A card subscription cancelled on day 10 with the plan's policy: a credit memo and a held refund."""
    subscriptions = pytest.importorskip("receivables.subscriptions.services")
    from django.utils import timezone

    period = {"duration": "P1M", "setup_fee": "10.00", "recurring_fee": "30.00", "tax_rate": "20"}
    policy = {"full_refund_days": 30, "after_full_refund_period": "prorated_recurring_fee"}
    plan = subscriptions.create_plan("Hosting", "GBP", [{**period, "refund_policy": policy}])
    customer = customer_services.create_customer(name="Eve Marsh", currency="GBP")
    start = timezone.localdate() - datetime.timedelta(days=10)
    token = "tok_refund_declined"
    subscription = subscriptions.subscribe(customer.pk, plan.pk, plan.periods.get().pk, token, start=start).subscription
    return {"customer": customer, "subscription": subscription, "plan": plan}


def test_cancel_wizard_quotes_then_asks_then_cancels(staff: Client, cancelled: dict[str, Any]) -> None:
    s = cancelled["subscription"]
    assert staff.get(f"/subscriptions/{s.pk}/cancel/").status_code == 200
    quote = staff.get(f"/subscriptions/{s.pk}/cancel/quote/", {"refund_policy": "plan"}).content.decode()
    assert 'id="quote-amount">£48.00' in quote
    assert "£0.00" in staff.get(f"/subscriptions/{s.pk}/cancel/quote/", {"refund_policy": "none"}).content.decode()
    bad = staff.get(f"/subscriptions/{s.pk}/cancel/quote/", {"refund_policy": "half"}).content.decode()
    assert "must be one of" in bad
    refused = staff.post(f"/subscriptions/{s.pk}/cancel/", {"refund_policy": "plan", "give_back": "cash"})
    assert b'id="give_back-error"' in refused.content
    choice = {"refund_policy": "plan", "give_back": "refund", "reason": "not_used", "comment": "Too slow"}
    confirm = staff.post(f"/subscriptions/{s.pk}/cancel/", choice)
    assert b"Yes, cancel it" in confirm.content
    staff.post(f"/subscriptions/{s.pk}/cancel/", {**choice, "answer": "no"})
    assert _count(DocumentType.REFUND) == 0
    done = staff.post(f"/subscriptions/{s.pk}/cancel/", {**choice, "answer": "yes"})
    assert done.status_code == 302
    refund = Document.objects.get(type=DocumentType.REFUND)
    assert (refund.total_minor, refund.status) == (4800, "hold")
    from receivables.subscriptions.models import Order

    order = Order.objects.get(kind="cancellation")
    assert (order.reason, order.comment, order.refund_id) == ("not_used", "Too slow", refund.pk)
    assert refund.number.encode() in staff.get("/refunds/held/").content
    assert b"1</div>" in staff.get("/").content  # one held refund on the admin centre
    assert ledger_is_clean() == {}


def test_held_refund_edit_save_refund_shows_the_gateways_reason(staff: Client, cancelled: dict[str, Any]) -> None:
    from receivables.gateways.models import ETransaction

    staff.post(
        f"/subscriptions/{cancelled['subscription'].pk}/cancel/",
        {"refund_policy": "plan", "give_back": "refund", "answer": "yes"},
    )
    refund = Document.objects.get(type=DocumentType.REFUND)
    page = staff.get(f"/refunds/{refund.pk}/?edit=1").content.decode()
    assert "left to refund £48.00" in page
    refused = staff.post(f"/refunds/{refund.pk}/save/", {"transaction": "abc"}, follow=True).content.decode()
    assert 'id="transaction-error"' in refused
    without = staff.post(f"/refunds/{refund.pk}/process/", follow=True).content.decode()
    assert "choose the previous e-transaction first" in without
    charge = ETransaction.objects.get(kind="charge")
    staff.post(f"/refunds/{refund.pk}/save/", {"transaction": charge.pk})
    refund.refresh_from_db()
    assert refund.previous_transaction_id == charge.pk
    result = staff.post(f"/refunds/{refund.pk}/process/", follow=True).content.decode()
    refund.refresh_from_db()
    assert refund.status == "failed"
    assert "failed" in result and refund.failure_reason in result
    cancel = staff.post(f"/refunds/{refund.pk}/cancel/", follow=True)
    assert cancel.status_code == 200
    assert ledger_is_clean() == {}


def _history_actions(page: str) -> list[str]:
    """The What column of a page's history table, in order."""
    table = page.split('id="history"', 1)[1].split("</table>", 1)[0]
    return [cell.split("</td>")[0] for row in table.split("<tr>")[2:] for cell in row.split("<td>")[3:4]]


def test_a_documents_page_shows_its_history_with_who_and_what_changed(
    staff: Client, story: dict[str, Any], admin_user: Any
) -> None:
    credit = story["credit"]
    page = staff.get(f"/documents/{credit.pk}/").content.decode()
    assert _history_actions(page) == ["credit_note.create"]
    cancelled_refund = refunds.create_refund(credit.pk, amount=Money(300, "GBP"), user=admin_user)
    refunds.cancel_refund(cancelled_refund.pk, user=admin_user)
    page = staff.get(f"/refunds/{cancelled_refund.pk}/").content.decode()
    assert _history_actions(page) == ["refund.create", "refund.cancel"]
    assert "status: hold → cancelled" in page and "admin" in page


def test_only_approvers_send_refunds(cancelled: dict[str, Any]) -> None:
    clerk = Client()
    clerk.force_login(make_user("cleo", "clerk"))
    refund_id = 10**6
    assert clerk.post(f"/refunds/{refund_id}/process/").status_code == 403


def test_a_user_without_a_staff_role_sees_nothing(db: None) -> None:
    from django.contrib.auth import get_user_model

    nobody = Client()
    nobody.force_login(get_user_model().objects.create_user(username="guest", password="correct-horse-battery"))
    assert nobody.get("/customers/").status_code == 403


def test_an_approver_approves_or_rejects_a_held_refund_with_a_comment(
    story: dict[str, Any], admin_user: Any, settings: Any
) -> None:
    from receivables.refunds.models import RefundApproval

    settings.REFUND_APPROVAL_THRESHOLD = "*=0"
    maker, checker = Client(), Client()
    maker.force_login(admin_user)
    checker.force_login(make_user("chris", "approver"))
    first = refunds.create_refund(story["credit"].pk, amount=Money(200, "GBP"), user=admin_user)
    second = refunds.create_refund(story["credit"].pk, amount=Money(300, "GBP"), user=admin_user)

    own = maker.post(f"/refunds/{first.pk}/decide/", {"decision": "approve"}, follow=True).content.decode()
    assert "someone other than its creator" in own
    bare = checker.post(f"/refunds/{second.pk}/decide/", {"decision": "reject"}, follow=True).content.decode()
    assert 'id="comment-error"' in bare
    assert RefundApproval.objects.count() == 0

    checker.post(f"/refunds/{first.pk}/decide/", {"decision": "approve", "comment": "Checked the charge"})
    checker.post(f"/refunds/{second.pk}/decide/", {"decision": "reject", "comment": "Duplicate"})
    decisions = RefundApproval.objects.order_by("id").values_list("refund_id", "decision", "comment")
    assert list(decisions) == [(first.pk, "approved", "Checked the charge"), (second.pk, "rejected", "Duplicate")]
    second.refresh_from_db()
    assert second.status == "cancelled"
    page = maker.get(f"/refunds/{first.pk}/").content.decode()
    assert "Approved by chris" in page and "Checked the charge" in page
    assert maker.post(f"/refunds/{first.pk}/process/", follow=True).status_code == 200
    first.refresh_from_db()
    assert first.status == "refunded"
    assert ledger_is_clean() == {}
