"""The business settings on the audit trail: recorded at start when they changed."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command

from receivables.core import business_settings
from receivables.core.models import AuditEntry


def _trail() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_type="settings").order_by("id"))


@pytest.mark.django_db
def test_settings_are_recorded_once_and_again_when_they_change(settings: Any) -> None:
    settings.REFUND_APPROVAL_THRESHOLD = "*=0"
    first = business_settings.record_if_changed(via="serve")
    assert first is not None and first.before is None
    assert first.after["REFUND_APPROVAL_THRESHOLD"] == "*=0" and first.via == "serve"
    assert business_settings.record_if_changed(via="serve") is None

    settings.REFUND_APPROVAL_THRESHOLD = "GBP=250.00,*=0"
    changed = business_settings.record_if_changed(via="serve")
    assert changed is not None
    assert (changed.before["REFUND_APPROVAL_THRESHOLD"], changed.after["REFUND_APPROVAL_THRESHOLD"]) == (
        "*=0",
        "GBP=250.00,*=0",
    )
    assert [entry.action for entry in _trail()] == ["settings.change", "settings.change"]


@pytest.mark.django_db
def test_serve_records_the_settings_before_starting_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)  # serve sets it for gunicorn's workers; restored after
    started: list[list[str]] = []
    monkeypatch.setattr("os.execv", lambda path, argv: started.append(argv))
    call_command("serve", "--no-migrate", "--port", "8999")
    assert started and "receivables.wsgi:application" in started[0]
    assert [(entry.action, entry.object_label) for entry in _trail()] == [("settings.change", "business settings")]
