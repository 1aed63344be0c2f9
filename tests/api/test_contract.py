"""The OpenAPI document as a contract: names, types, enums, headers, limits and the errors each
operation declares; the error catalogue and its published page; JSON answers off the routes."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client

from receivables.core import idempotency
from receivables.core.errors import CATALOGUE, catalogue_markdown
from receivables.core.roles import ROLES
from receivables.documents.models import DocumentType, PaymentMethod, Status
from receivables.documents.services import CREDIT_REASONS, DEBIT_REASONS
from receivables.money import CURRENCY_EXPONENTS
from receivables.openapi import TAGS
from receivables.rules.refund_policy import POLICY_CHOICES
from receivables.subscriptions.services import CANCELLATION_REASONS, GIVE_BACK
from tests.conftest import ApiClient

SRC = Path(__file__).resolve().parents[2] / "src" / "receivables"
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    from receivables.api import api

    return json.loads(json.dumps(api.get_openapi_schema(path_prefix="/api/v1")))


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in document["paths"].items() for method, op in item.items()]


def component(document: dict[str, Any], name: str) -> dict[str, Any]:
    return document["components"]["schemas"][name]


def test_operation_ids_are_short_unique_names_and_every_operation_has_its_areas_tag(document: dict) -> None:
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)+", i) and not i.startswith("receivables") for i in ids), ids
    assert {"create_invoice", "process_refund", "record_payment", "create_refund", "get_statement"} <= set(ids)
    tags = {tag["name"] for tag in TAGS}
    assert all(len(op["tags"]) == 1 and op["tags"][0] in tags for _, _, op in operations(document))


def test_amounts_are_decimal_strings_with_a_pattern_and_their_precision(document: dict) -> None:
    amount_in = component(document, "PaymentIn")["properties"]["amount"]
    assert amount_in["type"] == "string" and amount_in["format"] == "decimal"
    assert re.fullmatch(amount_in["pattern"], "25.00") and not re.fullmatch(amount_in["pattern"], "0.00")
    assert "minor unit" in amount_in["x-precision"]
    amount_out = component(document, "DocumentOut")["properties"]["outstanding"]
    assert amount_out["format"] == "decimal" and re.fullmatch(amount_out["pattern"], "-5.00")
    assert component(document, "Currency")["x-minor-units"] == CURRENCY_EXPONENTS


def test_dates_and_timestamps_have_a_format(document: dict) -> None:
    assert component(document, "DocumentOut")["properties"]["date"]["format"] == "date"
    assert component(document, "AllocationOut")["properties"]["created_at"]["format"] == "date-time"
    date_in = component(document, "InvoiceIn")["properties"]["date"]["anyOf"][0]
    assert date_in["format"] == "date" and "pattern" in date_in


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("DocumentType", DocumentType.values),
        ("DocumentStatus", Status.values),
        ("PaymentMethod", PaymentMethod.values),
        ("CreditReason", list(CREDIT_REASONS)),
        ("DebitReason", list(DEBIT_REASONS)),
        ("CancellationRefundPolicy", list(POLICY_CHOICES)),
        ("GiveBack", list(GIVE_BACK)),
        ("CancellationReason", list(CANCELLATION_REASONS)),
        ("AfterFullRefundPeriod", ["prorated_recurring_fee", "no_refund"]),
        ("Currency", list(CURRENCY_EXPONENTS)),
    ],
)
def test_every_closed_set_is_an_enum_from_its_one_source(document: dict, name: str, values: list[str]) -> None:
    assert component(document, name)["enum"] == values


def test_roles_are_an_enum(document: dict) -> None:
    assert component(document, "Role")["enum"] == list(ROLES)
    assert component(document, "TokenOut")["properties"]["role"]["anyOf"][0] == {"$ref": "#/components/schemas/Role"}


def test_idempotency_key_is_declared_exactly_on_the_operations_that_read_it(document: dict) -> None:
    from receivables.api import api

    declared = {
        op["operationId"]
        for _, _, op in operations(document)
        if any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in op.get("parameters", []))
    }
    reading = {
        operation.view_func.__name__
        for router in api._get_bound_routers()
        for view in router.path_operations.values()
        for operation in view.operations
        if idempotency.takes_key(operation.view_func)
    }
    assert declared == reading
    assert {"record_payment", "create_refund", "process_refund"} <= declared


def test_every_error_response_lists_catalogued_codes_of_its_status(document: dict) -> None:
    for method, path, op in operations(document):
        for status, response in op["responses"].items():
            if int(status) < 400 or status == "414":  # 414: gunicorn's own answer, before the application
                continue
            codes = response["content"]["application/json"]["schema"]["properties"]["error"]["enum"]
            assert codes, (method, path, status)
            assert all(CATALOGUE[code].status == int(status) for code in codes), (method, path, status, codes)
        assert {"401", "403", "503"} <= set(op["responses"]), (method, path)


def test_operations_declare_the_codes_their_services_raise(document: dict) -> None:
    refusals = {op["operationId"]: op["responses"] for _, _, op in operations(document)}

    def codes(operation_id: str, status: str) -> list[str]:
        return refusals[operation_id][status]["content"]["application/json"]["schema"]["properties"]["error"]["enum"]

    assert {"exceeds_source_outstanding", "exceeds_target_outstanding", "source_hold"} <= set(
        codes("create_allocation", "409")
    )
    assert "refund_not_found" in codes("get_refund", "404") and "customer_not_found" not in codes("get_refund", "404")
    assert {"idempotency_key_reused", "request_in_progress"} <= set(codes("process_refund", "409"))
    assert "approval_required" in codes("process_refund", "403")
    assert "card_declined" in codes("record_payment", "422")


def _raised_codes() -> dict[str, str]:
    """Every literal code constructed in the source, with the error class that carries it."""
    found: dict[str, str] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args or not isinstance(node.args[0], ast.Constant):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name in {"ReceivablesError", "Conflict", "MoneyError", "PolicyError", "PeriodError", "_refuse"}:
                found[node.args[0].value] = name
            elif name == "NotFound":
                found[f"{node.args[0].value}_not_found"] = name
    return found


def test_the_catalogue_knows_every_code_the_source_raises_with_the_status_of_its_class() -> None:
    raised = _raised_codes()
    assert set(raised) - set(CATALOGUE) == set()
    for code, kind in raised.items():
        expected = {"Conflict": 409, "NotFound": 404}.get(kind)
        if expected:
            assert CATALOGUE[code].status == expected, code


def test_the_published_error_page_is_the_catalogue() -> None:
    assert (DOCS / "ERRORS.md").read_text() == catalogue_markdown(), (
        "regenerate it: python -m receivables.core.errors > docs/ERRORS.md"
    )


def test_limits_are_stated(document: dict) -> None:
    customer = component(document, "CustomerIn")["properties"]
    assert customer["name"]["minLength"] == 1 and customer["name"]["maxLength"] == 200
    ids = component(document, "AllocationIn")["properties"]["source"]
    assert (ids["minimum"], ids["maximum"]) == (1, 2**62)
    path_id = next(p for p in document["paths"]["/api/v1/customers/{customer_id}"]["get"]["parameters"])
    assert (path_id["schema"]["minimum"], path_id["schema"]["maximum"]) == (1, 2**62)


def test_an_empty_query_date_is_refused(api: ApiClient) -> None:
    answer = api.get("/aged-receivables", as_of="")
    assert (answer.status, answer.body["error"], answer.body["field"]) == (422, "invalid_date", "as_of")


def test_audit_csv_declares_and_answers_text_csv(api: ApiClient, document: dict) -> None:
    assert "text/csv" in document["paths"]["/api/v1/audit.csv"]["get"]["responses"]["200"]["content"]
    response = api.client.get("/api/v1/audit.csv", **api.headers)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")


def test_unknown_routes_and_methods_answer_in_the_json_error_format(api: ApiClient) -> None:
    missing = api.get("/no-such-thing")
    assert (missing.status, missing.body["error"]) == (404, "not_found")
    wrong = api.client.delete("/api/v1/invoices", **api.headers)
    assert wrong.status_code == 405 and wrong["Allow"] == "POST"
    assert wrong.json()["error"] == "method_not_allowed"
    assert Client().get("/no-such-page/").status_code == 404  # the screens keep their own page


def test_database_unavailable_is_a_503_with_retry_after(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from receivables.customers import selectors

    def lost(*args: object, **kwargs: object) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(selectors, "search_customers", lost)
    response = api.client.get("/api/v1/customers", **api.headers)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json()["error"] == "database_unavailable"


def test_a_replayed_refusal_is_its_first_answer_not_a_500(api: ApiClient) -> None:
    first = api.post("/refunds/987654/process", {}, headers={"Idempotency-Key": "k-1"})
    again = api.post("/refunds/987654/process", {}, headers={"Idempotency-Key": "k-1"})
    assert first.status == again.status == 404 and first.body == again.body


def test_the_docs_page_is_served_from_vendored_files_under_the_strict_csp(api: ApiClient) -> None:
    page = Client().get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "cdn" not in html.lower() and "/static/ninja/swagger-ui-bundle.js" in html
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert Client().get("/static/ninja/swagger-ui-bundle.js").status_code == 200
