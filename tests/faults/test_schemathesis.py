"""Hostile input, generated: schemathesis fuzzes every API operation from its own OpenAPI schema.

In-process against the Django WSGI app, with an admin's bearer token, so every route is reached
past authorisation. Checked on every response: never a 5xx, and the body matches the schema the
API documents for that status (and the status is one it documents). The examples per operation
are bounded (FUZZ_EXAMPLES, default 10) so the run stays within about two minutes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from receivables.core.tokens import create_token
from receivables.wsgi import application
from tests.conftest import make_user

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


# Loaded at collection: pytest-django has configured Django by then, and the schema view needs no database.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture
def admin_token(db: None) -> str:
    return create_token(make_user("fuzz-admin", "admin"))


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """The raw WSGI handler closes "old" connections around each request, which on PostgreSQL would
    close the test's own transaction; Django's test client turns this off the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_answers_every_generated_request_within_its_schema(
    case: Any, admin_token: str, keep_test_connection: None
) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, checks=CHECKS)
