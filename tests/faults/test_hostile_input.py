"""Hostile input: every API write endpoint posted with oversized, malformed and unicode-edge values.

Each write operation of the OpenAPI schema gets a valid body (so the request reaches the checks
past "missing field"), then every field in turn is replaced by each hostile value, and the body as
a whole by broken documents (10 MB, deeply nested, invalid UTF-8, not an object). Path ids get
values beyond 2**63. Asserted for every request: never a 5xx; a refusal writes nothing (every
table's row count, every balance, O/S and status unchanged); a value that cannot be stored as sent
(NUL, a lone surrogate, a number beyond range) is refused.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client

from receivables.api import api as ninja_api
from receivables.core.tokens import create_token
from receivables.customers.models import Customer
from receivables.documents.models import Document
from tests.conftest import ApiClient, make_user

pytestmark = pytest.mark.slow

PREFIX = "/api/v1"
MEGABYTES_10 = 10 * 1024 * 1024
NESTING = 100_000

# Raw JSON text, so a lone surrogate and out-of-range numbers reach the server exactly as written.
# Refused in any field: text that cannot be stored as sent, numbers beyond any column, wrong shapes.
REFUSED_ANYWHERE = {
    "nul": '"a\\u0000b"',
    "lone_surrogate": '"\\ud800"',
    "lone_low_surrogate": '"x\\udfffy"',
    "long_text": json.dumps("x" * 100_000),
    "huge_exponent_number": "1e309",
    "beyond_2_63": str(2**63),
    "beyond_2_64": str(2**64 + 1),
    "negative_number": "-1",
    "nested": "[" * 50 + "]" * 50,
    "object": '{"$gt": ""}',
}
# Refused where an amount or a decimal is expected (elsewhere it is just text).
REFUSED_AS_DECIMAL = {
    "huge_exponent_text": '"1e309"',
    "huge_decimal_text": '"99999999999999999999.99"',
    "nan_text": '"NaN"',
    "infinity_text": '"Infinity"',
    "arabic_indic_digits": json.dumps("\u0661\u0662"),
    "fullwidth_digits": json.dumps("\uff11\uff12"),
}
# Values a careful server may accept (a name with a right-to-left mark is a name); never a 5xx.
MAY_ACCEPT = {
    "rtl_override": json.dumps("\u202egnp.exe"),
    "rtl_mark": json.dumps("abc\u200fdef"),
    "zero_width": json.dumps("\u200b\u200d\ufeff"),
    "combining": json.dumps("e\u0301" * 50),
    "emoji": json.dumps("\U0001f4b8\U0001f3f4\u200d\u2620\ufe0f"),
    "negative_zero_number": "-0.0",
    "negative_zero_text": '"-0"',
    "negative_zero_amount": '"-0.00"',  # zero, where zero is allowed (a credit limit, a setup fee)
    "empty": '""',
    "whitespace": '" \\t "',
    "null": "null",
    "true": "true",
    "list": "[]",
}
DECIMAL_FIELDS = {
    "amount",
    "unit_price",
    "quantity",
    "setup_fee",
    "recurring_fee",
    "credit_limit",
}
BROKEN_BODIES = {
    "ten_megabytes": b'{"name": "' + b"a" * MEGABYTES_10 + b'"}',
    "deeply_nested_list": b"[" * NESTING + b"]" * NESTING,
    "deeply_nested_object": b'{"a":' * NESTING + b"1" + b"}" * NESTING,
    "invalid_utf8": b'{"name": "\xff\xfe\xfd"}',
    "utf16": '{"name": "x"}'.encode("utf-16"),
    "nul_outside_strings": b'{"name": "x"}\x00',
    "truncated": b'{"name": "x',
    "not_an_object": b'"just a string"',
    "a_list": b"[1, 2, 3]",
    "huge_number": b"1" * 5000,
    "empty": b"",
    "duplicate_keys": b'{"amount": "1.00", "amount": "-5.00"}',
}
PATH_IDS = [str(2**63), str(2**64), "99999999999999999999", "0", "-1", "1e309", "%00", "\u0663"]
LENIENT_PATH_IDS = ["1.0", "+1", " 1"]  # read as the integer they spell by pydantic's lax mode; never a 5xx


@dataclass
class Book:
    customer: int
    bank: int
    invoice: int
    credit: int
    payment: int
    allocation: int
    refund: int
    plan: int  # sold, and subscribed to
    other_plan: int  # gets new versions
    period: int
    subscription: int


def _created(answer: Any) -> dict:
    assert answer.status == 201, answer.body
    return answer.body


@pytest.fixture
def book(api: ApiClient, bank: dict) -> Book:
    customer = _created(api.post("/customers", {"name": "Hostile Ltd", "currency": "GBP"}))["id"]
    line = {"description": "Cable", "quantity": "1", "unit_price": "20.00"}
    invoice = _created(api.post("/invoices", {"customer": customer, "lines": [line]}))["id"]
    credit = _created(api.post("/credit-notes", {"customer": customer, "amount": "25.00", "reason": "goodwill"}))["id"]
    payment = _created(api.post("/payments", {"customer": customer, "amount": "9.00", "method": "bank_transfer"}))
    allocation = _created(api.post("/allocations", {"source": credit, "target": invoice, "amount": "5.00"}))["id"]
    refund = _created(api.post("/refunds", {"source": credit, "amount": "1.00"}))["id"]
    plan = _created(api.post("/plans", PLAN))
    other_plan = _created(api.post("/plans", {**PLAN, "name": "Other"}))["id"]
    period = plan["periods"][0]["id"]
    subscription = api.post(
        "/subscriptions", {"customer": customer, "plan": plan["id"], "period": period, "card_token": "tok_visa"}
    )
    return Book(
        customer=customer,
        bank=bank[("GBP", "Main GBP")].pk,
        invoice=invoice,
        credit=credit,
        payment=payment["id"],
        allocation=allocation,
        refund=refund,
        plan=plan["id"],
        other_plan=other_plan,
        period=period,
        subscription=_created(subscription)["id"],
    )


PERIOD = {
    "duration": "P1M",
    "setup_fee": "0",
    "recurring_fee": "10.00",
    "refund_policy": {
        "non_refundable_amount": "0",
        "full_refund_days": 30,
        "after_full_refund_period": "prorated_recurring_fee",
    },
}
PLAN = {"name": "Basic", "currency": "GBP", "periods": [PERIOD]}


def valid_bodies(b: Book) -> dict[tuple[str, str], dict]:
    line = {"description": "Cable", "quantity": "1", "unit_price": "20.00", "tax_rate": "20"}
    return {
        ("POST", "/api-tokens"): {"user": "admin", "expires_in_days": 30},
        ("POST", "/customers"): {"name": "Ann", "currency": "GBP", "email": "a@example.com", "credit_limit": "5.00"},
        ("POST", "/bank-accounts"): {"name": "Spare", "currency": "GBP", "is_default": False},
        ("POST", "/invoices"): {"customer": b.customer, "date": "2026-11-23", "lines": [line]},
        ("POST", "/debit-memos"): {"customer": b.customer, "reason": "correction", "lines": [line]},
        ("POST", "/payments"): {
            "customer": b.customer,
            "amount": "3.00",
            "method": "bank_transfer",
            "bank_account": b.bank,
        },
        ("POST", "/credit-notes"): {
            "customer": b.customer,
            "amount": "2.00",
            "reason": "goodwill",
            "invoice": b.invoice,
        },
        ("POST", "/allocations"): {"source": b.payment, "target": b.invoice, "amount": "1.00"},
        ("POST", "/plans"): PLAN,
        ("POST", "/plans/{plan_id}/versions"): {"name": "Basic 2", "periods": [PERIOD]},
        ("POST", "/subscriptions"): {
            "customer": b.customer,
            "plan": b.plan,
            "period": b.period,
            "card_token": "tok_visa",
        },
        ("POST", "/subscriptions/{subscription_id}/cancel"): {"at": "2026-11-23", "refund_policy": "plan"},
        ("POST", "/refunds"): {"source": b.payment, "amount": "1.00", "bank_account": b.bank},
        ("PATCH", "/refunds/{refund_id}"): {"transaction": None},
        ("POST", "/refunds/{refund_id}/approve"): {"comment": "ok"},
        ("POST", "/refunds/{refund_id}/reject"): {"comment": "no"},
    }


def path_values(b: Book) -> dict[str, str]:
    return {
        "document_id": str(b.credit),
        "allocation_id": str(b.allocation),
        "refund_id": str(b.refund),
        "plan_id": str(b.other_plan),
        "subscription_id": str(b.subscription),
        "prefix": "abcd1234",
    }


def write_operations() -> list[tuple[str, str, bool]]:
    """(method, path, whether it reads a body) of every write in the API's OpenAPI schema."""
    schema = ninja_api.get_openapi_schema(path_prefix="")
    return sorted(
        (method.upper(), path, "requestBody" in operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if method in ("post", "patch", "put", "delete")
    )


def snapshot() -> tuple:
    """Every table's row count (one query), and the money columns a half-done write would move."""
    tables = sorted({model._meta.db_table for model in apps.get_models()})
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f'(SELECT count(*) FROM "{table}")' for table in tables))
        counts = tuple(zip(tables, cursor.fetchone(), strict=True))
    balances = tuple(Customer.objects.order_by("id").values_list("id", "balance_minor"))
    documents = tuple(Document.objects.order_by("id").values_list("id", "outstanding_minor", "status"))
    return counts, balances, documents


class Hostile:
    def __init__(self, token: str) -> None:
        self.client = Client(raise_request_exception=False)
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        self.problems: list[str] = []
        self.sent = 0
        self.statuses: Counter = Counter()
        self.last_snapshot: tuple | None = None

    def send(self, method: str, path: str, body: bytes, label: str, *, must_refuse: bool) -> int:
        before = self.last_snapshot or snapshot()
        response = self.client.generic(method, PREFIX + path, body, content_type="application/json", **self.auth)
        self.sent += 1
        status = response.status_code
        self.statuses[(label.rsplit("=", 1)[-1], status)] += 1
        # One snapshot per request: the state after this one is the state before the next.
        self.last_snapshot = after = snapshot()
        if status >= 500:
            self.problems.append(f"{status} {method} {path} [{label}]: {response.content[:200]!r}")
        elif status >= 400 and after != before:
            self.problems.append(f"{status} {method} {path} [{label}] wrote something although refused")
        elif status < 400 and must_refuse:
            self.problems.append(f"{status} {method} {path} [{label}] accepted a value it cannot store as sent")
        return status


def _fill(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


MARK = "__HOSTILE_VALUE__"


def _variants(body: dict) -> list[tuple[str, dict, str]]:
    """(label, body with MARK in one field, field name) for every field, and every field of a first line/period."""
    found = [(field, {**body, field: MARK}, field) for field in body]
    for key in ("lines", "periods"):
        if isinstance(body.get(key), list) and body[key]:
            first, rest = body[key][0], body[key][1:]
            found += [(f"{key}[0].{field}", {**body, key: [{**first, field: MARK}, *rest]}, field) for field in first]
    return found


def _hostile_bodies(body: dict) -> list[tuple[str, bytes, bool]]:
    bodies = []
    for label, marked, field in _variants(body):
        text = json.dumps(marked)
        for name, raw in {**REFUSED_ANYWHERE, **REFUSED_AS_DECIMAL, **MAY_ACCEPT}.items():
            refuse = name in REFUSED_ANYWHERE or (name in REFUSED_AS_DECIMAL and field in DECIMAL_FIELDS)
            bodies.append((f"{label}={name}", text.replace(f'"{MARK}"', raw).encode(), refuse))
    return bodies


def test_every_write_endpoint_refuses_hostile_values_without_a_500_or_a_write(book: Book, settings: Any) -> None:
    settings.REFUND_APPROVAL_THRESHOLD = "*=none"
    token = create_token(make_user("hostile-admin", "admin"))
    hostile = Hostile(token)
    operations = write_operations()
    bodies, paths = valid_bodies(book), path_values(book)
    assert operations, "no write operation found in the schema"

    for method, route, reads_body in operations:
        path = _fill(route, paths)
        body = bodies.get((method, route), {})
        for name, raw in BROKEN_BODIES.items():
            hostile.send(method, path, raw, f"body={name}", must_refuse=reads_body)
        for label, raw, refuse in _hostile_bodies(body):
            hostile.send(method, path, raw, label, must_refuse=refuse)
        for name in [n for n in paths if "{" + n + "}" in route]:
            for value in PATH_IDS + LENIENT_PATH_IDS:
                hostile.send(
                    method,
                    _fill(route, {**paths, name: value}),
                    json.dumps(body).encode(),
                    f"{name}={value}",
                    must_refuse=value in PATH_IDS,
                )

    print(f"{hostile.sent} hostile requests to {len(operations)} write operations")
    print("(value, status): count:", dict(sorted(hostile.statuses.items())))
    assert hostile.problems == [], "\n".join(hostile.problems)
