"""Who may do what on the screens: every screen × every role and no login, read from the URL
configuration, so a screen added without a rule here fails."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, reverse

from receivables.backoffice import urls
from receivables.backoffice.views.common import POST_RULE
from receivables.core.permissions import ADMIN, APPROVE, CAPABILITIES, EDIT_REFUND, WRITE
from tests.conftest import make_user

# Django's own login and logout views: open to everyone by design.
OPEN_SCREENS = {"login", "logout"}
ROLES = tuple(CAPABILITIES)
MISSING_ID = 999999

# What a POST to each screen needs (issue 6): clerks write documents, refunds and cancellations,
# approvers pay and cancel refunds, both pick a refund's card charge; pages that only show are
# written to by nobody but an admin.
POST_NEEDS = {
    "payment": WRITE,
    "credit_note": WRITE,
    "invoice": WRITE,
    "allocate": WRITE,
    "refund_os": WRITE,
    "cancel_subscription": WRITE,
    "refund_save": EDIT_REFUND,
    "refund_process": APPROVE,
    "refund_cancel": APPROVE,
    "refund_decide": APPROVE,
}


def screens() -> list[URLPattern]:
    return [pattern for pattern in urls.urlpatterns if isinstance(pattern, URLPattern)]


def screen(name: str) -> URLPattern:
    return next(pattern for pattern in screens() if pattern.name == name)


def _rule(pattern: URLPattern) -> str | None:
    return getattr(pattern.callback, POST_RULE, None)


def _address(pattern: URLPattern) -> str:
    arguments = {name: MISSING_ID for name in pattern.pattern.regex.groupindex}
    return reverse(f"backoffice:{pattern.name}", kwargs=arguments)


def test_every_screen_has_the_rule_its_roles_call_for() -> None:
    names = {pattern.name for pattern in screens()} - OPEN_SCREENS
    assert len(names) > 20, "the walk over the URL configuration found too few screens"
    declared = {name: _rule(screen(name)) for name in names}
    assert declared == {name: POST_NEEDS.get(name, ADMIN) for name in names}


@pytest.fixture
def clients(db: None) -> dict[str, Client]:
    made = {}
    for role in ROLES:
        client = Client()
        client.force_login(make_user(f"screen-{role}", role))
        made[role] = client
    made["no login"] = Client()
    return made


def _refused_without_login(response: Any) -> bool:
    redirected_to_login = response.status_code == 302 and response["Location"].startswith("/login/")
    # require_POST answers a GET before anyone is asked to log in.
    return redirected_to_login or response.status_code == 405


@pytest.mark.parametrize("name", sorted(p.name for p in screens() if p.name not in OPEN_SCREENS))
def test_screen_answers_each_role_as_its_rule_says(clients: dict[str, Client], name: str) -> None:
    pattern = screen(name)
    address, needed = _address(pattern), POST_NEEDS.get(name, ADMIN)
    for who, client in clients.items():
        read, write = client.get(address), client.post(address, {})
        if who == "no login":
            assert _refused_without_login(read) and _refused_without_login(write), (name, read, write)
            continue
        assert read.status_code in (200, 404, 405), (who, name, read.status_code)
        if needed in CAPABILITIES[who]:
            assert write.status_code not in (401, 403), (who, name, write.status_code)
        else:
            assert write.status_code == 403, (who, name, write.status_code)


def test_a_user_without_a_staff_role_may_neither_read_nor_write_any_screen(db: None) -> None:
    nobody = Client()
    nobody.force_login(get_user_model().objects.create_user(username="no-role", password="correct-horse-battery"))
    for pattern in screens():
        if pattern.name not in OPEN_SCREENS:
            assert nobody.post(_address(pattern), {}).status_code == 403, pattern.name
            assert nobody.get(_address(pattern)).status_code in (403, 405), pattern.name
