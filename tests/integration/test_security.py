"""Hardening: CSRF, login throttling, security headers, password hashing, no stack traces."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from receivables import settings as project_settings
from tests.conftest import ApiClient, make_user


def test_a_form_post_without_the_csrf_token_is_refused(db: None) -> None:
    make_user("alice", "clerk")
    strict = Client(enforce_csrf_checks=True)
    refused = strict.post("/login/", {"username": "alice", "password": "correct-horse-battery"})
    assert refused.status_code == 403
    page = strict.get("/login/")
    token = page.cookies["csrftoken"].value
    accepted = strict.post(
        "/login/", {"username": "alice", "password": "correct-horse-battery", "csrfmiddlewaretoken": token}
    )
    assert accepted.status_code == 302


def test_logins_are_locked_out_after_repeated_failures(db: None, settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 5
    make_user("bob", "clerk")
    client = Client()
    for _ in range(4):
        assert client.post("/login/", {"username": "bob", "password": "wrong"}).status_code == 200
    assert client.post("/login/", {"username": "bob", "password": "wrong"}).status_code == 429
    locked = client.post("/login/", {"username": "bob", "password": "correct-horse-battery"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def _login(username: str, password: str, address: str) -> int:
    """A login through the TLS proxy, from ``address`` (the proxy appends it to X-Forwarded-For)."""
    forged_and_real = f"203.0.113.99, {address}"  # whatever the client claims comes first
    return (
        Client(HTTP_X_FORWARDED_FOR=forged_and_real)
        .post("/login/", {"username": username, "password": password})
        .status_code
    )


def test_behind_the_proxy_usernames_and_client_addresses_are_locked_separately(api: ApiClient, settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    settings.RECEIVABLES_BEHIND_TLS_PROXY = True
    make_user("bob", "clerk")
    make_user("carol", "clerk")
    for _ in range(3):
        _login("bob", "wrong", "198.51.100.7")  # an attacker guessing bob's password

    # The username is locked wherever bob is, and the attacker's address for everyone...
    assert _login("bob", "correct-horse-battery", "192.0.2.10") == 429
    assert _login("carol", "correct-horse-battery", "198.51.100.7") == 429
    # ...but not the proxy's: carol, from her own address behind the same proxy, logs in.
    assert _login("carol", "correct-horse-battery", "192.0.2.20") == 302

    unlocked = api.post("/users/bob/unlock")
    assert unlocked.status == 200 and unlocked.body["username"] == "bob"
    assert _login("bob", "correct-horse-battery", "192.0.2.10") == 302


def test_pages_carry_security_headers_and_a_csp_without_inline_code(db: None) -> None:
    response = Client().get("/login/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.cookies["csrftoken"]["samesite"] == "Lax"


def test_hsts_is_sent_over_https_when_configured(db: None, settings: Any) -> None:
    settings.SECURE_HSTS_SECONDS = 31_536_000
    assert "Strict-Transport-Security" in Client().get("/login/", secure=True)
    assert "Strict-Transport-Security" not in Client().get("/login/")


def test_session_cookie_is_http_only_and_same_site(db: None) -> None:
    make_user("dave", "viewer")
    client = Client()
    client.post("/login/", {"username": "dave", "password": "correct-horse-battery"})
    cookie = client.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_project_defaults_are_safe() -> None:
    assert project_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    assert project_settings.DEBUG is False
    assert project_settings.SESSION_COOKIE_HTTPONLY is True


def test_an_unexpected_error_sends_no_stack_trace(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from receivables.customers import selectors

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals: /srv/app/settings.py line 12")

    monkeypatch.setattr(selectors, "search_customers", explode)
    answer = api.get("/customers")
    assert answer.status == 500
    assert answer.body == {"error": "internal_error", "detail": "an unexpected error occurred", "field": None}
