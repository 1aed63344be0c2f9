"""The API's interactive docs (/api/v1/docs) work offline: Swagger UI from the vendored files,
under the same strict Content-Security-Policy as every page, with no request leaving the server."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import needs_chromium

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_renders_every_area_without_the_internet(page: Any, live_server: Any) -> None:
    own = urlsplit(live_server.url).netloc
    elsewhere: list[str] = []

    def only_this_server(route: Any) -> None:
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.goto(f"{live_server.url}/api/v1/docs")
    page.locator(".opblock-tag", has_text="refunds").first.wait_for()
    for area in ("customers", "documents", "refunds", "subscriptions", "ledger"):
        assert page.locator(".opblock-tag", has_text=area).count() >= 1, area
    assert page.locator(".opblock").count() >= 40
    page.locator(".opblock-summary", has_text="/api/v1/refunds/{refund_id}/process").first.click()
    page.get_by_text("Idempotency-Key").first.wait_for()
    assert elsewhere == []
