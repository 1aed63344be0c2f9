"""Shared fixtures: an API client with a bearer token, and the business's bank accounts."""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client

from receivables.core.roles import assign_role
from receivables.core.tokens import create_token
from receivables.customers import services as customer_services

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
needs_postgres = pytest.mark.skipif(
    not ON_POSTGRES, reason="PostgreSQL only (concurrent writers, triggers): set DATABASE_URL to a PostgreSQL server"
)


@contextmanager
def business_day(day: datetime.date) -> Iterator[None]:
    """Let the clock say ``day`` (midday in the business's time zone) while the code inside runs.

    Rules that depend on today (a subscription starts at most one period ago) meet the dates
    of stories told in the past.
    """
    midday = datetime.datetime.combine(day, datetime.time(12), ZoneInfo("Europe/London"))
    with time_machine.travel(midday, tick=True):
        yield


@pytest.fixture(autouse=True)
def one_person_may_pay_refunds(settings: Any) -> None:
    """Stories told by one user pay their own refunds; maker–checker has its own tests."""
    settings.REFUND_APPROVAL_THRESHOLD = "*=none"


@pytest.fixture(autouse=True)
def quick_password_hashing(settings: Any) -> None:
    """Argon2 is deliberately slow; tests that make users by the dozen need not pay for it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Answer:
    status: int
    body: Any


def declared_error_codes(method: str, route: str, status: int) -> list[str]:
    """The codes the OpenAPI document says ``method route`` can answer ``status`` with."""
    from receivables.api import api

    operation = api.get_openapi_schema(path_prefix="/api/v1")["paths"][f"/api/v1{route}"][method.lower()]
    response = operation["responses"].get(status, {})
    return (
        response.get("content", {})
        .get("application/json", {})
        .get("schema", {})
        .get("properties", {})
        .get("error", {})
        .get("enum", [])
    )


def check_error_is_declared(response: Any, body: Any) -> None:
    """Every refusal any API test meets must be one the OpenAPI document declares for its operation."""
    from receivables.api import route_of

    if not 400 <= response.status_code < 500 and response.status_code != 503:
        return  # a 500 is a bug, never part of the contract (tests that provoke one check its body)
    if not isinstance(body, dict) or "error" not in body:
        return
    if (
        response.wsgi_request.resolver_match is None
        or response.status_code in (404, 405)
        and body["error"]
        in (
            "not_found",
            "method_not_allowed",
        )
    ):
        return  # no operation answered: an unknown path or method
    route = route_of(response.wsgi_request)
    declared = declared_error_codes(response.wsgi_request.method, route, response.status_code)
    assert body["error"] in declared, (
        f"{response.wsgi_request.method} {route} answered {response.status_code} {body['error']!r}, "
        f"which its OpenAPI operation does not declare (it declares {declared})"
    )


class ApiClient:
    """Talks JSON to /api/v1 with a bearer token, the way an integrator would; every refusal it
    meets is checked against the codes the OpenAPI document declares for the operation."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def _answer(self, response: Any) -> Answer:
        is_json = response.get("Content-Type", "").startswith("application/json")
        body = json.loads(response.content) if is_json and response.content else response.content.decode()
        check_error_is_declared(response, body)
        return Answer(response.status_code, body)

    def get(self, path: str, **params: Any) -> Answer:
        return self._answer(self.client.get(f"/api/v1{path}", params, **self.headers))

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
        extra = {**self.headers, **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}}
        return self._answer(
            self.client.post(
                f"/api/v1{path}", json.dumps(body if body is not None else {}), content_type="application/json", **extra
            )
        )

    def patch(self, path: str, body: Any) -> Answer:
        return self._answer(
            self.client.patch(f"/api/v1{path}", json.dumps(body), content_type="application/json", **self.headers)
        )

    def raw_post(self, path: str, text: str) -> Answer:
        return self._answer(self.client.post(f"/api/v1{path}", text, content_type="application/json", **self.headers))


def make_user(name: str, role: str, *, service_account: bool = False) -> Any:
    user = get_user_model().objects.create_user(username=name, password="correct-horse-battery")
    assign_role(user, role, service_account=service_account)
    return user


@pytest.fixture
def admin_user(db: None) -> Any:
    return make_user("admin", "admin")


@pytest.fixture
def api(admin_user: Any) -> ApiClient:
    return ApiClient(create_token(admin_user))


@pytest.fixture
def bank(db: None) -> Any:
    customer_services.create_bank_account(name="Main GBP", currency="GBP", is_default=True)
    customer_services.create_bank_account(name="Reserve GBP", currency="GBP")
    customer_services.create_bank_account(name="Main EUR", currency="EUR", is_default=True)
    customer_services.create_bank_account(name="Main JPY", currency="JPY", is_default=True)
    from receivables.customers.models import BankAccount

    return {(a.currency, a.name): a for a in BankAccount.objects.all()}


def ledger_is_clean() -> dict[str, list[str]]:
    from receivables.core.checks import verify

    return {name: problems for name, problems in verify().items() if problems}
