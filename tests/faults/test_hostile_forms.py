"""Hostile input to the staff screens: every POST form, each field in turn given a hostile value.

The forms are found by reading the pages a signed-in admin sees (so a new form is covered without
listing it here); every other field keeps the value the page offers. Asserted: never a 5xx; a form
that is not accepted (no redirect) writes nothing; text that cannot be stored as sent (NUL, 100k
characters) is never accepted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from receivables.core.tokens import create_token
from tests.conftest import ApiClient, make_user
from tests.faults.test_hostile_input import snapshot

pytestmark = pytest.mark.slow

MUST_REFUSE = {"nul": "a\x00b", "long_text": "x" * 100_000}
MAY_ACCEPT = {
    "lone_surrogate": "\ud800",
    "rtl_override": "\u202egnp.exe",
    "zero_width": "\u200b\ufeff",
    "huge_exponent": "1e309",
    "huge_decimal": "99999999999999999999.99",
    "negative_zero": "-0.00",
    "beyond_2_63": str(2**63),
    "negative": "-1",
    "empty": "",
    "script": "<script>alert(1)</script>",
    "arabic_digits": "\u0661\u0662",
}


# What a clerk would type into a field the page leaves empty, so each form is valid before it is spoiled.
TYPED = {
    "amount": "1.00",
    "unit_price": "1.00",
    "quantity": "1",
    "description": "Fuzz",
    "name": "Fuzz",
    "comment": "Fuzz",
    "email": "fuzz@example.com",
}


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)


class FormReader(HTMLParser):
    """The POST forms of a page, with the value each field would be sent with."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page, self.forms, self.form, self.select = page, [], None, None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self.form = Form(a.get("action") or self.page)
            self.forms.append(self.form)
        elif self.form is None:
            return
        elif tag == "input" and a.get("name") and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            if a.get("type") == "radio" and "checked" not in a:
                self.form.fields.setdefault(a["name"], a.get("value", ""))  # the first choice
                return
            self.form.fields[a["name"]] = a.get("value") or TYPED.get(a["name"].split(".")[-1], "")
        elif tag == "button" and a.get("name"):
            self.form.fields.setdefault(a["name"], a.get("value", ""))  # as if its first button were clicked
        elif tag in ("select", "textarea") and a.get("name"):
            self.select = a["name"]
            self.form.fields.setdefault(a["name"], "")
        elif tag == "option" and self.select and (not self.form.fields[self.select] or "selected" in a):
            self.form.fields[self.select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form = None
        elif tag in ("select", "textarea"):
            self.select = None


@pytest.fixture
def pages(api: ApiClient, bank: dict) -> list[str]:
    customer = api.post("/customers", {"name": "Form Fuzz Ltd", "currency": "GBP"}).body["id"]
    line = {"description": "Cable", "quantity": "1", "unit_price": "20.00"}
    api.post("/invoices", {"customer": customer, "lines": [line]})
    credit = api.post("/credit-notes", {"customer": customer, "amount": "25.00", "reason": "goodwill"}).body["id"]
    api.post("/payments", {"customer": customer, "amount": "9.00", "method": "bank_transfer"})
    # A clerk's refund, so the admin may approve or reject it too.
    clerk = ApiClient(create_token(make_user("fuzz-clerk", "clerk")))
    refund = clerk.post("/refunds", {"source": credit, "amount": "1.00"}).body["id"]
    return [
        f"/customers/{customer}/payment/",
        f"/customers/{customer}/credit-note/",
        f"/customers/{customer}/invoice/",
        f"/customers/{customer}/allocate/",
        f"/customers/{customer}/refund/",
        f"/refunds/{refund}/",
        f"/refunds/{refund}/?edit=1",
        f"/subscriptions/{_card_subscription(api, customer)}/cancel/",
        "/customers/",
        "/bank-accounts/",
        "/plans/",
    ]


def _card_subscription(api: ApiClient, customer: int) -> int:
    policy = {"non_refundable_amount": "0.00", "full_refund_days": 30, "after_full_refund_period": "no_refund"}
    period = {"duration": "P1M", "setup_fee": "0.00", "recurring_fee": "30.00", "refund_policy": policy}
    plan = api.post("/plans", {"name": "Fuzz plan", "currency": "GBP", "periods": [period]}).body
    body = {"customer": customer, "plan": plan["id"], "period": plan["periods"][0]["id"], "card_token": "tok_visa"}
    return api.post("/subscriptions", body).body["id"]


def _encode(fields: dict[str, str]) -> bytes:
    return urlencode(fields, encoding="utf-8", errors="surrogatepass").encode()


def test_every_staff_form_survives_hostile_values(pages: list[str], admin_user: Any) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    forms = []
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, (page, response.status_code)
        reader = FormReader(page)
        reader.feed(response.content.decode())
        forms += [form for form in reader.forms if not form.action.startswith("/logout")]
    assert forms, "no POST form found on the staff screens"

    problems: list[str] = []
    seen: Counter = Counter()
    after = snapshot()
    for form in forms:
        for name in [n for n in form.fields if n != "csrfmiddlewaretoken"]:
            for label, value in {**MUST_REFUSE, **MAY_ACCEPT}.items():
                before = after  # one snapshot per post: the state after one is the state before the next
                body = _encode({**form.fields, name: value})
                response = client.generic("POST", form.action, body, "application/x-www-form-urlencoded")
                status = response.status_code
                seen[status] += 1
                after = snapshot()
                where = f"{status} {form.action} {name}={label}"
                if status >= 500:
                    problems.append(where)
                elif status != 302 and after != before:
                    problems.append(f"{where}: refused, yet something was written")
                elif label in MUST_REFUSE and after != before:
                    # Judged by what was written: the refund page answers a refusal by a
                    # redirect too, showing the error on the page it returns to.
                    problems.append(f"{where}: accepted text it cannot store as sent")
    print(f"{sum(seen.values())} hostile form posts to {len(forms)} forms: {dict(seen)}")
    assert problems == [], "\n".join(problems)
