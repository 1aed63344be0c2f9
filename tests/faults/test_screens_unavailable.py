"""The staff screens answer 503 (not 500) when the database is unreachable.

The outage test sees this against a real PostgreSQL; here the loss is simulated, so it runs
everywhere: once where the session is first read (in middleware, outside any view) and once in
a view.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client

pytestmark = pytest.mark.django_db


def _lost(*args: Any, **kwargs: Any) -> Any:
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')


def test_reading_the_session_without_a_database_gives_503() -> None:
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "abcdefghijklmnopqrstuvwxyz012345"

    with mock.patch("django.contrib.sessions.backends.db.SessionStore.load", _lost):
        response = client.get("/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"database is unavailable" in response.content


def test_a_view_losing_the_database_gives_503(admin_user: Any) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    execute = CursorWrapper.execute

    def lost_in_the_view(self: CursorWrapper, sql: str, params: Any = None) -> Any:
        if "customers_customer" in sql:  # the session and the user load; the customer list does not
            _lost()
        return execute(self, sql, params)

    with mock.patch.object(CursorWrapper, "execute", lost_in_the_view):
        response = client.get("/customers/")

    assert response.status_code == 503
    assert b"Nothing was saved" in response.content
